// SPDX-License-Identifier: Apache-2.0
// `wasmfleet dev up`: everything on one machine. A real control plane (etcd + kube-apiserver,
// or an existing cluster), an embedded MQTT broker (or a given one), the real operator, real
// agents as device processes with simulated sensors, and the sample functions. Every child is
// tied to this process (@wasmfleet/local-stack), so nothing outlives it; stop() takes the parts
// down in the reverse order of their start, so the operator stops before the API server.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import mqtt, { type MqttClient } from 'mqtt';
import { brokerAddress } from '@wasmfleet/api';
import { closeOnOversizedPacket, limitPacketSize, PACKET_LIMITS } from '@wasmfleet/api/mqtt';
import { startOperator } from '@wasmfleet/operator';
import {
  REPO_CRDS_DIR,
  ensureNativeAgent,
  installCrds,
  kubeconfigYaml,
  serverSideApply,
  spawnManaged,
  startControlPlane,
  startEmbeddedBroker,
  type ApplyObject,
  type ManagedProcess,
} from '@wasmfleet/local-stack';
import { startSensors, type SensorPlan } from '@wasmfleet/agent/sim';
import { sampleManifests } from './samples.ts';
import { DEV_CONTEXT } from './state-file.ts';
import { UserError } from '../errors.ts';

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
  /** The local control plane's kubeconfig is written here (the same path on every start). */
  readonly kubeconfigOut: string;
  /** Certificates, tokens, etcd's and the agents' data go here; removed by stop(). */
  readonly runDir: string;
  /** Which device runtime the simulated devices run: the Node agent or the native one (Wasmtime). */
  readonly agent?: 'node' | 'native';
  readonly progress: (line: string) => void;
  /** Aborting it (Ctrl-C while starting) stops what has started and rejects. */
  readonly signal: AbortSignal;
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

/** What has started so far, and how to stop it (last started, first stopped). */
class Parts {
  readonly #stops: (() => Promise<void>)[] = [];
  readonly pids: number[] = [];
  add(stop: () => Promise<void>): void {
    this.#stops.push(stop);
  }
  async stop(): Promise<void> {
    for (const s of this.#stops.splice(0).reverse()) await s().catch(() => undefined);
  }
}

export async function startDevStack(options: DevStackOptions): Promise<DevStack> {
  const parts = new Parts();
  const step = <T>(run: () => Promise<T>): Promise<T> => {
    options.signal.throwIfAborted();
    return run();
  };
  try {
    await mkdir(options.runDir, { recursive: true, mode: 0o700 });
    parts.add(() => rm(options.runDir, { recursive: true, force: true }));
    const { kube, kubeconfigPath } = await step(() => startCluster(options, parts));
    const brokerUrl = await step(() => startBroker(options, parts));
    const devices = devicePlans(options);
    await step(() => admitDevices(kube, devices));
    await step(() => runOperator(kube, brokerUrl, options, parts));
    await step(() => runAgents(devices, brokerUrl, options, parts));
    const client = await step(() => runSensors(devices, brokerUrl, parts));
    await step(() => applySamples(kube, options.progress));
    return {
      kubeconfigPath,
      brokerUrl,
      devices,
      kube,
      mqtt: client,
      pids: parts.pids,
      stop: () => parts.stop(),
    };
  } catch (error) {
    await parts.stop();
    throw error;
  }
}

function loadKubeconfig(kube: KubeConfig, file: string): void {
  try {
    kube.loadFromFile(file);
  } catch (error) {
    throw new UserError(`cannot read kubeconfig ${file}: ${(error as Error).message}`, {
      hint: 'check the file is a valid kubeconfig (`kubectl config view --kubeconfig <file>`), or leave out --kubeconfig to start a local control plane',
      cause: error,
    });
  }
}

/** A local control plane (its kubeconfig at the stable path), or the given cluster with our CRDs. */
async function startCluster(
  options: DevStackOptions,
  parts: Parts,
): Promise<{ kube: KubeConfig; kubeconfigPath: string }> {
  const kube = new KubeConfig();
  if (options.kubeconfig) {
    loadKubeconfig(kube, options.kubeconfig);
    await installCrds(kube, REPO_CRDS_DIR);
    options.progress('installed the WasmFleet CRDs into the existing cluster');
    return { kube, kubeconfigPath: options.kubeconfig };
  }
  options.progress('starting a local control plane (etcd + kube-apiserver)');
  const plane = await startControlPlane({
    workDir: options.runDir,
    progress: (line) => options.progress(`  ${line}`),
    signal: options.signal,
  });
  parts.add(() => plane.stop());
  parts.pids.push(...plane.pids);
  const yaml = kubeconfigYaml({
    server: plane.server,
    caPem: plane.caPem,
    token: plane.token,
    user: 'admin',
    context: DEV_CONTEXT,
    cluster: DEV_CONTEXT,
  });
  await writeFile(options.kubeconfigOut, yaml, { mode: 0o600 });
  parts.add(() => rm(options.kubeconfigOut, { force: true }));
  kube.loadFromString(yaml);
  return { kube, kubeconfigPath: options.kubeconfigOut };
}

async function startBroker(options: DevStackOptions, parts: Parts): Promise<string> {
  if (options.broker) return options.broker;
  const embedded = await startEmbeddedBroker(options.brokerPort);
  parts.add(() => embedded.close());
  options.progress(`embedded MQTT broker (aedes) on ${embedded.url}`);
  return embedded.url;
}

function devicePlans(options: DevStackOptions): SensorPlan[] {
  return [
    ...Array.from({ length: options.devices }, (_, i) => ({
      node: `dev-sensor-${i + 1}`,
      kind: 'climate' as const,
    })),
    ...Array.from({ length: options.cameras }, (_, i) => ({
      node: `dev-camera-${i + 1}`,
      kind: 'camera' as const,
    })),
  ];
}

const apply = (kube: KubeConfig, object: Record<string, unknown>) =>
  serverSideApply(kube, object as unknown as ApplyObject, { fieldManager: 'wasmfleet-dev', force: true });

/** Devices are admitted the way an admin would: EdgeNodes with labels, before they connect. */
async function admitDevices(kube: KubeConfig, devices: readonly SensorPlan[]): Promise<void> {
  for (const d of devices) {
    await apply(kube, {
      apiVersion: 'wasmfleet.io/v1alpha1',
      kind: 'EdgeNode',
      metadata: { name: d.node, labels: { 'wasmfleet.io/examples': 'true', kind: d.kind } },
      spec: {},
    });
  }
}

async function runOperator(
  kube: KubeConfig,
  brokerUrl: string,
  options: DevStackOptions,
  parts: Parts,
): Promise<void> {
  options.progress('starting the operator');
  const operator = startOperator({
    kubeConfig: kube,
    broker: { url: brokerUrl },
    leaderElection: false,
    log: (line) => options.progress(`  operator: ${line}`),
  });
  parts.add(() => operator.stop());
  await operator.ready;
}

async function runAgents(
  devices: readonly SensorPlan[],
  brokerUrl: string,
  options: DevStackOptions,
  parts: Parts,
): Promise<void> {
  const dataRoot = path.join(options.runDir, 'agents');
  const agents: ManagedProcess[] = [];
  // Stopped together: each publishes its offline status and exits within a second or two.
  parts.add(async () => {
    await Promise.all(agents.map((a) => a.stop()));
  });
  const native =
    options.agent === 'native'
      ? (await ensureNativeAgent({ progress: (line) => options.progress(`  native agent: ${line}`) })).path
      : undefined;
  for (const d of devices) {
    const dataDir = path.join(dataRoot, d.node);
    await mkdir(dataDir, { recursive: true });
    const agent = spawnManaged(`agent ${d.node}`, native ?? process.execPath, {
      args: [
        ...(native ? [] : [AGENT_BIN]),
        ...['--broker', brokerUrl, '--node', d.node, '--data-dir', dataDir, '--heartbeat', '5'],
        ...['--sensors', d.kind === 'camera' ? 'camera' : 'temperature,humidity'],
        // aedes speaks MQTT 3.1.1 only: say so instead of probing for 5 first.
        ...(options.broker ? [] : ['--mqtt-version', '4']),
      ],
      logFile: path.join(dataRoot, `${d.node}.log`),
    });
    agents.push(agent);
    parts.pids.push(agent.pid);
  }
  options.progress(`started ${devices.length} device agents (${native ? 'native, Wasmtime' : 'Node'})`);
}

/** The simulated sensors publish through one client, which the live view also reads from. */
async function runSensors(
  devices: readonly SensorPlan[],
  brokerUrl: string,
  parts: Parts,
): Promise<MqttClient> {
  const client = await mqtt.connectAsync(
    limitPacketSize(
      { ...brokerAddress(brokerUrl), clientId: `wasmfleet-dev-${process.pid}`, reconnectPeriod: 1000 },
      PACKET_LIMITS.control,
    ),
  );
  closeOnOversizedPacket(client, (error) => process.stderr.write(`warning: ${error.message}\n`));
  parts.add(() => client.endAsync());
  const stopSensors = startSensors(client, devices);
  parts.add(() => {
    stopSensors();
    return Promise.resolve();
  });
  return client;
}

async function applySamples(kube: KubeConfig, progress: (line: string) => void): Promise<void> {
  const samples = await sampleManifests(DEV_NAMESPACE, progress);
  for (const object of [...samples.configMaps, ...samples.functions]) await apply(kube, object);
  const names = samples.functions.map((f) => (f.metadata as { name: string }).name);
  progress(`applied the sample functions: ${names.join(', ')}`);
}
