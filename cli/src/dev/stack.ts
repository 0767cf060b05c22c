// SPDX-License-Identifier: Apache-2.0
// `wasmfleet dev up`: everything on one machine. A real control plane (etcd + kube-apiserver,
// or an existing cluster), an embedded MQTT broker (or a given one), the real operator, real
// agents as device processes with simulated sensors, and the sample functions. Every child is
// tied to this process (setpriv --pdeathsig), so nothing outlives it.
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfig, KubernetesObjectApi } from '@kubernetes/client-node';
import mqtt, { type MqttClient } from 'mqtt';
import { parse } from 'yaml';
import { startOperator, type RunningOperator } from '@wasmfleet/operator';
import {
  REPO_CRDS_DIR,
  ensureNativeAgent,
  spawnManaged,
  startControlPlane,
  type ControlPlane,
  type ManagedProcess,
} from '@wasmfleet/test-support';
import { serverSideApply, type ApplyObject } from '../kube/server-side-apply.ts';
import { startEmbeddedBroker, type EmbeddedBroker } from './embedded-broker.ts';
import { sampleManifests } from './samples.ts';
import { startSensors, type SensorPlan } from '@wasmfleet/agent/sim';

const AGENT_BIN = fileURLToPath(new URL('../../../agent/bin/wasmfleet-agent.js', import.meta.url));
export const DEV_NAMESPACE = 'default';

export interface DevStackOptions {
  /** Use this cluster instead of starting a local control plane. */
  readonly kubeconfig?: string | undefined;
  /** Use this broker instead of the embedded one. */
  readonly broker?: string | undefined;
  readonly brokerPort: number;
  readonly devices: number;
  readonly cameras: number;
  /** Which device runtime the simulated devices run: the Node agent or the native one (Wasmtime). */
  readonly agent?: 'node' | 'native';
  readonly progress: (line: string) => void;
}

export interface DevStack {
  readonly kubeconfigPath: string;
  readonly brokerUrl: string;
  readonly devices: readonly SensorPlan[];
  readonly kube: KubeConfig;
  readonly mqtt: MqttClient;
  readonly pids: readonly number[];
  stop(): Promise<void>;
}

export async function startDevStack(options: DevStackOptions): Promise<DevStack> {
  const { progress } = options;
  const stops: (() => Promise<void>)[] = [];
  const stop = async (): Promise<void> => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  try {
    let plane: ControlPlane | undefined;
    let kubeconfigPath = options.kubeconfig;
    if (!kubeconfigPath) {
      progress('starting a local control plane (etcd + kube-apiserver; the first run builds them, ~5 min)');
      const started = await startControlPlane({ progress: (line) => progress(`  ${line}`) });
      plane = started;
      kubeconfigPath = started.kubeconfigPath;
      stops.push(() => started.stop());
    }
    const kube = new KubeConfig();
    kube.loadFromFile(kubeconfigPath);
    if (!plane) await installCrds(kube, progress);

    let broker: EmbeddedBroker | undefined;
    let brokerUrl = options.broker;
    if (!brokerUrl) {
      const embedded = await startEmbeddedBroker(options.brokerPort);
      broker = embedded;
      brokerUrl = embedded.url;
      stops.push(() => embedded.close());
      progress(`embedded MQTT broker (aedes) on ${brokerUrl}`);
    }

    const devices: SensorPlan[] = [
      ...Array.from({ length: options.devices }, (_, i) => ({
        node: `dev-sensor-${i + 1}`,
        kind: 'climate' as const,
      })),
      ...Array.from({ length: options.cameras }, (_, i) => ({
        node: `dev-camera-${i + 1}`,
        kind: 'camera' as const,
      })),
    ];
    const apply = (object: Record<string, unknown>) =>
      serverSideApply(kube, object as unknown as ApplyObject, { fieldManager: 'wasmfleet-dev', force: true });
    // Devices are admitted the way an admin would: EdgeNodes with labels, before they connect.
    for (const d of devices) {
      await apply({
        apiVersion: 'wasmfleet.io/v1alpha1',
        kind: 'EdgeNode',
        metadata: { name: d.node, labels: { 'wasmfleet.io/examples': 'true', kind: d.kind } },
        spec: {},
      });
    }

    progress('starting the operator');
    const operator: RunningOperator = startOperator({
      kubeConfig: kube,
      broker: { url: brokerUrl },
      leaderElection: false,
      log: (line) => progress(`  operator: ${line}`),
    });
    stops.push(() => operator.stop());
    await operator.ready;

    const dataRoot = await mkdtemp(path.join(tmpdir(), 'wasmfleet-dev-agents-'));
    stops.push(() => rm(dataRoot, { recursive: true, force: true }));
    const agents: ManagedProcess[] = [];
    const native =
      options.agent === 'native'
        ? (await ensureNativeAgent({ progress: (line) => progress(`  native agent: ${line}`) })).path
        : undefined;
    for (const d of devices) {
      const dataDir = path.join(dataRoot, d.node);
      await mkdir(dataDir, { recursive: true });
      const agent = spawnManaged(`agent ${d.node}`, native ?? process.execPath, {
        args: [
          ...(native ? [] : [AGENT_BIN]),
          '--broker',
          brokerUrl,
          '--node',
          d.node,
          '--data-dir',
          dataDir,
          '--heartbeat',
          '5',
          '--sensors',
          d.kind === 'camera' ? 'camera' : 'temperature,humidity',
          // aedes speaks MQTT 3.1.1 only: say so instead of probing for 5 first.
          ...(broker ? ['--mqtt-version', '4'] : []),
        ],
        logFile: path.join(dataRoot, `${d.node}.log`),
      });
      agents.push(agent);
      stops.push(() => agent.stop());
    }
    progress(`started ${devices.length} device agents (${native ? 'native, Wasmtime' : 'Node'})`);

    const client = await mqtt.connectAsync(brokerUrl, {
      clientId: `wasmfleet-dev-${process.pid}`,
      reconnectPeriod: 1000,
    });
    stops.push(() => client.endAsync());
    const stopSensors = startSensors(client, devices);
    stops.push(() => {
      stopSensors();
      return Promise.resolve();
    });

    const samples = await sampleManifests(DEV_NAMESPACE, progress);
    for (const object of [...samples.configMaps, ...samples.functions]) await apply(object);
    progress(
      `applied the sample functions: ${samples.functions.map((f) => (f.metadata as { name: string }).name).join(', ')}`,
    );

    return {
      kubeconfigPath,
      brokerUrl,
      devices,
      kube,
      mqtt: client,
      pids: [...(plane?.pids ?? []), ...agents.map((a) => a.pid)],
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Server-side applies the repository's CRDs to an existing cluster, then waits until served. */
async function installCrds(kube: KubeConfig, progress: (line: string) => void): Promise<void> {
  for (const file of (await readdir(REPO_CRDS_DIR)).filter((f) => f.endsWith('.yaml'))) {
    const crd = parse(await readFile(path.join(REPO_CRDS_DIR, file), 'utf8')) as ApplyObject;
    await serverSideApply(kube, crd, { fieldManager: 'wasmfleet-dev', force: true });
  }
  // Wait until the new types are served before anything is created with them.
  const objects = KubernetesObjectApi.makeApiClient(kube);
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await objects.list('wasmfleet.io/v1alpha1', 'EdgeNode');
      break;
    } catch (error) {
      if (Date.now() > deadline)
        throw new Error('the WasmFleet CRDs did not become served within 60 s', { cause: error });
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  progress('installed the WasmFleet CRDs into the existing cluster');
}
