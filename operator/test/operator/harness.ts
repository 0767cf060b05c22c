// SPDX-License-Identifier: Apache-2.0
// One operator against the shared real API server and a private real Mosquitto, scoped to its
// own namespace and fleet so test files running side by side never see each other's objects.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { GROUP, VERSION, WASM_FUNCTION_PLURAL, type EdgeNode, type WasmFunction } from '@wasmfleet/api';
import {
  sharedControlPlane,
  startMosquitto,
  startSimulatedDevice,
  uniqueName,
  waitFor,
  type ControlPlane,
  type Mosquitto,
  type MosquittoOptions,
  type SimulatedDevice,
  type SimulatedDeviceOptions,
} from '@wasmfleet/test-support';
import { startOperator, type OperatorOptions, type RunningOperator } from '../../src/operator.ts';

/** The smallest valid core module: magic + version. */
export const EMPTY_MODULE = Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);

export interface Harness {
  readonly plane: ControlPlane;
  readonly broker: Mosquitto;
  readonly namespace: string;
  readonly fleet: string;
  readonly kc: KubeConfig;
  readonly api: CustomObjectsApi;
  operator: RunningOperator;
  readonly devices: SimulatedDevice[];
  device(
    name: string,
    options?: Partial<SimulatedDeviceOptions> & { labels?: Record<string, string> },
  ): Promise<SimulatedDevice>;
  nodeName(short: string): string;
  apply(yaml: string): Promise<void>;
  moduleConfigMap(name: string, bytes?: Uint8Array): Promise<void>;
  fn(name: string): Promise<WasmFunction>;
  node(name: string): Promise<EdgeNode>;
  waitForFunction(
    name: string,
    what: string,
    check: (fn: WasmFunction) => boolean,
    timeoutMs?: number,
  ): Promise<WasmFunction>;
  restartOperator(overrides?: Partial<OperatorOptions>): Promise<void>;
  close(): Promise<void>;
}

export async function startHarness(
  prefix: string,
  overrides: Partial<OperatorOptions> = {},
  brokerOptions: MosquittoOptions = {},
): Promise<Harness> {
  const plane = await sharedControlPlane();
  const broker = await startMosquitto(brokerOptions);
  const namespace = uniqueName(prefix);
  const fleet = uniqueName('fleet');
  const created = await plane.kubectl(['create', 'namespace', namespace]);
  if (created.code !== 0) throw new Error(created.stderr);
  const kc = new KubeConfig();
  kc.loadFromFile(plane.kubeconfigPath);
  const api = kc.makeApiClient(CustomObjectsApi);
  const devices: SimulatedDevice[] = [];
  const nodeName = (short: string) => `${fleet}-${short}`;
  const options = (): OperatorOptions => ({
    kubeConfig: kc,
    broker: { url: broker.url, syncQuietMs: 100 },
    leaderElection: false,
    scope: { namespace, fleet },
    workers: 4,
    log: () => undefined,
    ...overrides,
  });
  const h: Harness = {
    plane,
    broker,
    namespace,
    fleet,
    kc,
    api,
    operator: startOperator(options()),
    devices,
    nodeName,
    async device(short, opts = {}) {
      const name = nodeName(short);
      const { labels, ...rest } = opts;
      if (labels) {
        // Pre-create the EdgeNode with its labels (as an admin would), in this fleet.
        await h.apply(
          `apiVersion: wasmfleet.io/v1alpha1\nkind: EdgeNode\nmetadata:\n  name: ${name}\n  labels: ${JSON.stringify({ ...labels, 'wasmfleet.io/fleet': fleet })}\nspec: {}\n`,
        );
      }
      const device = await startSimulatedDevice({
        brokerUrl: broker.url,
        node: name,
        heartbeatSeconds: 5,
        ...rest,
      });
      devices.push(device);
      return device;
    },
    async apply(yaml) {
      const r = await plane.kubectl(['apply', '-n', namespace, '-f', '-'], { stdin: yaml });
      if (r.code !== 0) throw new Error(`kubectl apply failed: ${r.stderr}`);
    },
    async moduleConfigMap(name, bytes = EMPTY_MODULE) {
      const dir = await mkdtemp(path.join(tmpdir(), 'op-module-'));
      const file = path.join(dir, 'module.wasm');
      await writeFile(file, bytes);
      const yaml = (
        await plane.kubectl([
          'create',
          'configmap',
          name,
          '-n',
          namespace,
          `--from-file=module.wasm=${file}`,
          '--dry-run=client',
          '-o',
          'yaml',
        ])
      ).stdout;
      await h.apply(yaml);
    },
    async fn(name) {
      return (await api.getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        plural: WASM_FUNCTION_PLURAL,
        namespace,
        name,
      })) as WasmFunction;
    },
    async node(name) {
      return (await api.getClusterCustomObject({
        group: GROUP,
        version: VERSION,
        plural: 'edgenodes',
        name,
      })) as EdgeNode;
    },
    async waitForFunction(name, what, check, timeoutMs = 20_000) {
      let last: WasmFunction | undefined;
      try {
        return await waitFor(
          `${name}: ${what}`,
          async () => {
            last = await h.fn(name);
            return check(last) ? last : undefined;
          },
          { timeoutMs, intervalMs: 100 },
        );
      } catch (error) {
        throw new Error(`${(error as Error).message}; last status: ${JSON.stringify(last?.status)}`, {
          cause: error,
        });
      }
    },
    async restartOperator(more = {}) {
      await h.operator.stop();
      h.operator = startOperator({ ...options(), ...more });
      await h.operator.ready;
    },
    async close() {
      await h.operator.stop();
      await Promise.allSettled(devices.map((d) => d.stop()));
      await broker.dispose();
    },
  };
  await h.operator.ready;
  return h;
}

export function functionYaml(name: string, spec: Record<string, unknown>): string {
  return JSON.stringify({
    apiVersion: 'wasmfleet.io/v1alpha1',
    kind: 'WasmFunction',
    metadata: { name },
    spec,
  });
}

/**
 * temp-alert on the devices labelled `site=a`, reading the `temp-module` ConfigMap
 * (moduleConfigMap('temp-module')); a new `threshold` makes a new revision.
 */
export function siteAlertSpec(threshold = '30'): Record<string, unknown> {
  return {
    module: { configMap: { name: 'temp-module', key: 'module.wasm' } },
    placement: { nodeSelector: { matchLabels: { site: 'a' } } },
    inputs: [{ topic: 'sensors/{node}/temperature', format: 'senml' }],
    outputs: [{ topic: 'alerts/{node}/temperature' }],
    config: { THRESHOLD: threshold },
  };
}
