// SPDX-License-Identifier: Apache-2.0
// A fleet for fault tests: a namespace and fleet of their own on a given control plane, a real
// Mosquitto, simulated devices, a module ConfigMap, and real operator processes (the binary,
// spawned by the operator tests' operator-process helper) that the test may kill or freeze.
import { GROUP, VERSION, WASM_FUNCTION_PLURAL, type EdgeNode, type WasmFunction } from '@wasmfleet/api';
import {
  startMosquitto,
  startSimulatedDevice,
  uniqueName,
  waitFor,
  type ControlPlane,
  type Mosquitto,
  type MosquittoOptions,
  type SimulatedDevice,
} from '@wasmfleet/test-support';
import { EMPTY_MODULE } from '../../../operator/test/operator/harness.ts';
import { spawnOperator, type OperatorProcess } from '../../../operator/test/operator/operator-process.ts';

export interface FaultFleet {
  readonly plane: ControlPlane;
  readonly broker: Mosquitto;
  readonly namespace: string;
  readonly fleet: string;
  readonly devices: SimulatedDevice[];
  readonly operators: OperatorProcess[];
  nodeName(short: string): string;
  /** Creates the EdgeNode (labelled, in this fleet) and connects a simulated device for it. */
  device(short: string, labels: Record<string, string>): Promise<SimulatedDevice>;
  kubectl(args: readonly string[], stdin?: string): Promise<string>;
  apply(object: object): Promise<void>;
  fn(name: string): Promise<WasmFunction | undefined>;
  node(name: string): Promise<EdgeNode>;
  /** Starts an operator process scoped to this namespace and fleet. */
  spawn(extra?: readonly string[], kubeconfig?: string): OperatorProcess;
  close(): Promise<void>;
}

export async function startFaultFleet(
  plane: ControlPlane,
  prefix: string,
  brokerOptions: MosquittoOptions = {},
): Promise<FaultFleet> {
  const broker = await startMosquitto(brokerOptions);
  const namespace = uniqueName(prefix);
  const fleet = uniqueName('fleet');
  const devices: SimulatedDevice[] = [];
  const operators: OperatorProcess[] = [];
  const kubectl = async (args: readonly string[], stdin?: string): Promise<string> => {
    const r = await plane.kubectl(args, stdin === undefined ? {} : { stdin });
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };
  const apply = async (object: object): Promise<void> => {
    await kubectl(['apply', '-f', '-'], JSON.stringify(object));
  };
  await kubectl(['create', 'namespace', namespace]);
  await apply({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'mod', namespace },
    binaryData: { 'module.wasm': Buffer.from(EMPTY_MODULE).toString('base64') },
  });
  const f: FaultFleet = {
    plane,
    broker,
    namespace,
    fleet,
    devices,
    operators,
    nodeName: (short) => `${fleet}-${short}`,
    async device(short, labels) {
      const node = f.nodeName(short);
      await apply({
        apiVersion: `${GROUP}/${VERSION}`,
        kind: 'EdgeNode',
        metadata: { name: node, labels: { ...labels, 'wasmfleet.io/fleet': fleet } },
        spec: {},
      });
      const device = await startSimulatedDevice({ brokerUrl: broker.url, node, heartbeatSeconds: 5 });
      devices.push(device);
      return device;
    },
    kubectl,
    apply,
    async fn(name) {
      const r = await plane.kubectl([
        'get',
        `${WASM_FUNCTION_PLURAL}.${GROUP}`,
        name,
        '-n',
        namespace,
        '-o',
        'json',
      ]);
      if (r.code !== 0) {
        if (/NotFound/.test(r.stderr)) return undefined;
        throw new Error(`reading WasmFunction ${namespace}/${name} failed: ${r.stderr}`);
      }
      return JSON.parse(r.stdout) as WasmFunction;
    },
    async node(name) {
      return JSON.parse(await kubectl(['get', `edgenodes.${GROUP}`, name, '-o', 'json'])) as EdgeNode;
    },
    spawn(extra = [], kubeconfig = plane.kubeconfigPath) {
      const o = spawnOperator(
        ['--broker', broker.url, '--namespace', namespace, '--fleet', fleet, ...extra],
        kubeconfig,
      );
      operators.push(o);
      return o;
    },
    async close() {
      await Promise.all(operators.map((o) => o.kill()));
      await Promise.allSettled(devices.map((d) => d.stop()));
      await broker.dispose();
    },
  };
  return f;
}

export function wasmFunction(name: string, spec: Record<string, unknown>): object {
  return { apiVersion: `${GROUP}/${VERSION}`, kind: 'WasmFunction', metadata: { name }, spec };
}

/** Waits until `name`'s status satisfies `check`; the error carries the last status seen. */
export async function waitForFunction(
  f: FaultFleet,
  name: string,
  what: string,
  check: (fn: WasmFunction) => boolean,
  timeoutMs = 60_000,
): Promise<WasmFunction> {
  let last: WasmFunction | undefined;
  try {
    return await waitFor(
      `${name}: ${what}`,
      async () => {
        last = await f.fn(name);
        return last && check(last) ? last : undefined;
      },
      { timeoutMs, intervalMs: 200 },
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; last status: ${JSON.stringify(last?.status)}`, {
      cause: error,
    });
  }
}
