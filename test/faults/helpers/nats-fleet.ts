// SPDX-License-Identifier: Apache-2.0
// A fleet on a 3-node nats-server cluster for the clustered-broker fault tests (issue 18, ADR 0029):
// the shared kube-apiserver, the real operator in-process and real agent processes, each given
// every node (--broker a,b,c) in an order the test chooses, running `temp-alert` with a canary
// rollout. What both the short (default) and the long (opt-in) test need: start it, ask whether
// the rollout is over, read what a surviving node retains, and explain a failure.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import mqtt, { type MqttClient } from 'mqtt';
import {
  GROUP,
  VERSION,
  WASM_FUNCTION_PLURAL,
  desiredTopic,
  parseDesiredState,
  statusTopic,
  type WasmFunction,
} from '@wasmfleet/api';
import {
  sharedControlPlane,
  startNatsCluster,
  uniqueName,
  waitFor,
  type ControlPlane,
  type NatsCluster,
  type NatsClusterNode,
} from '@wasmfleet/test-support';
import { ensureBuilt } from '@wasmfleet/workloads';
import { startOperator, type RunningOperator } from '../../../operator/src/operator.ts';
import { report, scratchDir, startAgentProcess, type AgentProcess } from './pipeline.ts';

export interface NatsFleetOptions {
  readonly prefix: string;
  readonly devices: number;
  /** The broker URLs device `i` is given, first the one it starts on. */
  readonly brokersOf: (i: number, urls: readonly string[]) => readonly string[];
  /** The canary's steps of every rollout after the first (the test kills a node between them). */
  readonly steps: readonly Record<string, unknown>[];
}

export interface NatsFleet {
  readonly plane: ControlPlane;
  readonly cluster: NatsCluster;
  readonly namespace: string;
  readonly agents: readonly AgentProcess[];
  /** Device names, in agent order. */
  readonly devices: readonly string[];
  kubectl(args: string[], stdin?: string): Promise<string>;
  fn(): Promise<WasmFunction>;
  /** The function once every device runs the update revision and the rollout is over. */
  converged(): Promise<WasmFunction | undefined>;
  /** Sets THRESHOLD, which starts a canary rollout (`steps`) to a new revision. */
  setThreshold(level: string): Promise<void>;
  /**
   * Each device's retained desired-document revision as `url` delivers it, once every device of
   * `waitFor` (default: all) is at `revision` there, or after a minute without.
   */
  retainedRevisions(
    url: string,
    revision: string,
    waitFor?: readonly string[],
  ): Promise<Map<string, string | undefined>>;
  /** The operator's broker lines, its log's end, the agents' and the brokers' logs. */
  diagnostics(): Promise<string>;
  /** The operator's lines about documents it sent again or republished (ADR 0055). */
  redeliveries(): string[];
  dispose(): Promise<void>;
}

const DEVICE_LIMIT_MS = 180_000;

export async function startNatsFleet(o: NatsFleetOptions): Promise<NatsFleet> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const dispose = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  };
  try {
    return await assemble(o, cleanups, dispose);
  } catch (error) {
    await dispose();
    throw error;
  }
}

async function assemble(
  o: NatsFleetOptions,
  cleanups: (() => Promise<unknown>)[],
  dispose: () => Promise<void>,
): Promise<NatsFleet> {
  const plane = await sharedControlPlane();
  const cluster = await startNatsCluster(3);
  cleanups.push(() => cluster.dispose());
  const scratch = await scratchDir(o.prefix);
  cleanups.push(() => scratch[Symbol.asyncDispose]());
  const agents: AgentProcess[] = [];
  cleanups.push(() => Promise.allSettled(agents.map((a) => a.process.stop())));
  const operatorLog: string[] = [];
  const namespace = uniqueName(o.prefix);
  const fleet = uniqueName('fleet');
  const devices = Array.from({ length: o.devices }, (_, i) => `${fleet}-d${i}`);
  const kubectl = async (args: string[], stdin?: string): Promise<string> => {
    const r = await plane.kubectl(args, stdin === undefined ? {} : { stdin });
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  await kubectl(['create', 'namespace', namespace]);
  const kc = new KubeConfig();
  kc.loadFromFile(plane.kubeconfigPath);
  const api = kc.makeApiClient(CustomObjectsApi);
  const operator: RunningOperator = startOperator({
    kubeConfig: kc,
    broker: { url: cluster.url, syncQuietMs: 200 },
    leaderElection: false,
    scope: { namespace, fleet },
    log: (line) => operatorLog.push(`${new Date().toISOString()} ${line}`),
  });
  cleanups.push(() => operator.stop());
  await operator.ready;
  const wasm = path.join(scratch.path, 'module.wasm');
  await writeFile(wasm, await readFile(await ensureBuilt('temp-alert')));
  await kubectl([
    'create',
    'configmap',
    'temp-alert-wasm',
    '-n',
    namespace,
    `--from-file=module.wasm=${wasm}`,
  ]);
  const urls = cluster.nodes.map((n) => n.url);
  for (const [i, device] of devices.entries()) {
    await kubectl(
      ['apply', '-f', '-'],
      `apiVersion: wasmfleet.io/v1alpha1\nkind: EdgeNode\nmetadata: { name: ${device}, labels: { wasmfleet.io/fleet: ${fleet} } }\nspec: {}\n`,
    );
    agents.push(
      startAgentProcess({
        brokerUrl: o.brokersOf(i, urls).join(','),
        node: device,
        dataDir: path.join(scratch.path, device),
        extraArgs: ['--sensors', 'temperature'],
      }),
    );
  }
  const fn = async () =>
    (await api.getNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: WASM_FUNCTION_PLURAL,
      namespace,
      name: 'temp-alert',
    })) as WasmFunction;
  const converged = async (): Promise<WasmFunction | undefined> => {
    const f = await fn();
    const s = f.status;
    return s !== undefined &&
      s.observedGeneration === f.metadata.generation &&
      s.currentRevision === s.updateRevision &&
      s.updatedNodes === o.devices &&
      s.readyNodes === o.devices
      ? f
      : undefined;
  };
  // The first revision goes out at once (Rolling); the canary is for the update under test.
  await kubectl(['apply', '-f', '-'], manifest(namespace, fleet, '30'));
  await waitFor('every device Ready on the first revision', converged, {
    timeoutMs: DEVICE_LIMIT_MS,
    intervalMs: 250,
  }).catch(async (error: unknown) => {
    throw new Error(
      `${(error as Error).message}; status: ${JSON.stringify((await fn()).status)}\n` +
        `${await retainedOnEachNode(cluster, devices)}\n${await diagnostics(cluster, agents, operatorLog)}`,
      { cause: error },
    );
  });
  // A device the cluster failed to deliver its first document to is sent it again (ADR 0048).
  const resent = operatorLog.filter((l) => l.includes('sending it again'));
  if (resent.length > 0) report(`${o.prefix}: first documents sent again: ${resent.join(' | ')}`);
  return {
    plane,
    cluster,
    namespace,
    agents,
    devices,
    kubectl,
    fn,
    converged,
    setThreshold: async (level) => {
      await kubectl([
        ...['patch', 'wasmfunction', 'temp-alert', '-n', namespace, '--type=merge', '-p'],
        JSON.stringify({
          spec: { config: { THRESHOLD: level }, rollout: { strategy: 'Canary', steps: o.steps } },
        }),
      ]);
    },
    retainedRevisions: (url, revision, waitFor = devices) =>
      retainedRevisions(url, devices, revision, waitFor),
    diagnostics: () => diagnostics(cluster, agents, operatorLog),
    redeliveries: () => operatorLog.filter((l) => /sending it again|holds generation/.test(l)),
    dispose,
  };
}

function manifest(namespace: string, fleet: string, level: string): string {
  return JSON.stringify({
    apiVersion: 'wasmfleet.io/v1alpha1',
    kind: 'WasmFunction',
    metadata: { name: 'temp-alert', namespace },
    spec: {
      module: { configMap: { name: 'temp-alert-wasm', key: 'module.wasm' } },
      placement: { nodeSelector: { matchLabels: { 'wasmfleet.io/fleet': fleet } } },
      inputs: [{ topic: 'sensors/{node}/temperature', qos: 1, format: 'senml' }],
      outputs: [{ topic: 'alerts/{node}/temperature', qos: 1 }],
      config: { THRESHOLD: level, HYSTERESIS: '1', SENSOR: 'temperature' },
      rollout: { strategy: 'Rolling', maxUnavailable: '100%' },
    },
  });
}

/**
 * A clean MQTT 3.1.1 client on one node, connected and subscribed to `filters`. A node still
 * electing JetStream leaders after a loss refuses a session or a filter (SUBACK 0x80) for a while:
 * both are tried again until granted.
 */
export async function survivorClient(url: string, filters: readonly string[]): Promise<MqttClient> {
  return waitFor(
    `${url} to accept a session and grant ${filters.length} subscriptions`,
    async () => {
      const client = await mqtt.connectAsync(url, {
        protocolVersion: 4,
        reconnectPeriod: 0,
        connectTimeout: 10_000,
      });
      try {
        if (filters.length > 0) {
          const granted = await client.subscribeAsync([...filters], { qos: 1 });
          if (granted.some((g) => g.qos === 128)) throw new Error(`${url} refused a subscription`);
        }
        return client;
      } catch (error) {
        await client.endAsync(true);
        throw error;
      }
    },
    { timeoutMs: 90_000, intervalMs: 500 },
  );
}

/** What `url` delivers on every device's desired topic, once the `awaited` devices' are at `revision` (or a minute passed). */
async function retainedRevisions(
  url: string,
  devices: readonly string[],
  revision: string,
  awaited: readonly string[],
): Promise<Map<string, string | undefined>> {
  const seen = new Map<string, string | undefined>();
  const client = await survivorClient(url, []);
  try {
    client.on('message', (_topic, payload) => {
      const doc = parseDesiredState(payload);
      if (doc.ok) seen.set(doc.value.node, doc.value.functions[0]?.revision);
    });
    await survivorSubscribe(client, devices.map(desiredTopic));
    await waitFor(
      `${url} to deliver the retained desired documents at ${revision}`,
      () => (awaited.every((d) => seen.get(d) === revision) ? true : undefined),
      { timeoutMs: 60_000, intervalMs: 50 },
    ).catch(() => undefined); // the caller's assertion names what is missing
    return seen;
  } finally {
    await client.endAsync(true);
  }
}

async function survivorSubscribe(client: MqttClient, filters: readonly string[]): Promise<void> {
  await waitFor(
    'the subscriptions to be granted',
    async () => {
      const granted = await client.subscribeAsync([...filters], { qos: 1 });
      return granted.every((g) => g.qos !== 128) ? true : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  );
}

/** What each running node retains on every device's desired and status topic (for a failure message). */
async function retainedOnEachNode(cluster: NatsCluster, devices: readonly string[]): Promise<string> {
  const lines: string[] = [];
  for (const node of cluster.nodes.filter((n) => n.running)) {
    const client = await mqtt
      .connectAsync(node.url, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5_000 })
      .catch((error: unknown) => error as Error);
    if (client instanceof Error) {
      lines.push(`${node.name}: ${client.message}`);
      continue;
    }
    client.on('message', (topic, payload) =>
      lines.push(`${node.name} ${topic}: ${payload.toString().slice(0, 300)}`),
    );
    const granted = await client
      .subscribeAsync([...devices.map(desiredTopic), ...devices.map(statusTopic)], { qos: 1 })
      .catch(() => []);
    lines.push(`${node.name} granted ${granted.map((g) => g.qos).join(',')}`);
    await new Promise((resolve) => setTimeout(resolve, 2_000)); // a failure message, not a wait on behaviour
    await client.endAsync(true);
  }
  return `retained on each node:\n${lines.join('\n')}`;
}

async function diagnostics(
  cluster: NatsCluster,
  agents: readonly AgentProcess[],
  operatorLog: readonly string[],
): Promise<string> {
  const logs = await Promise.all(agents.map(async (a) => (await a.log()).slice(-1500)));
  const brokers = await Promise.all(
    cluster.nodes.map(async (n) => {
      const lines = (await n.log()).split('\n').filter((l) => !l.includes('connect to route'));
      const operatorLines = lines.filter((l) => l.includes('wasmfleet-operator'));
      return `${n.name} (${n.url}, running: ${n.running}):\n${lines.slice(-25).join('\n')}\nthe operator's connections there:\n${operatorLines.slice(-30).join('\n')}`;
    }),
  );
  return (
    `operator's broker lines:\n${operatorLog.filter((l) => /broker|subscri|desired document/.test(l)).join('\n')}\n` +
    `operator log:\n${operatorLog.slice(-40).join('\n')}\nagent logs:\n${logs.join('\n---\n')}\n` +
    `broker logs:\n${brokers.join('\n---\n')}`
  );
}

/** The node of `cluster` a log line names (`connected to mqtt://127.0.0.1:4222 (MQTT 3.1.1)`). */
function nodeOfLine(line: string, cluster: NatsCluster): NatsClusterNode | undefined {
  return cluster.nodes.find((n) => line.includes(`${n.url} `) || line.endsWith(n.url));
}

function connectLines(log: string): string[] {
  return log.split('\n').filter((l) => l.includes('connected to '));
}

/** The node of `cluster` the agent's log says it connected to last, if any. */
export async function currentNode(
  agent: AgentProcess,
  cluster: NatsCluster,
): Promise<NatsClusterNode | undefined> {
  return nodeOfLine(connectLines(await agent.log()).at(-1) ?? '', cluster);
}

/**
 * True when the agent's log, from character `since` on (its length at the kill), says it
 * connected to a node of `cluster` other than `gone`.
 */
export async function movedOff(
  agent: AgentProcess,
  gone: NatsClusterNode,
  cluster: NatsCluster,
  since = 0,
): Promise<boolean> {
  return connectLines((await agent.log()).slice(since)).some((l) => {
    const node = nodeOfLine(l, cluster);
    return node !== undefined && node !== gone;
  });
}
