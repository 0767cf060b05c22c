// SPDX-License-Identifier: Apache-2.0
// One fleet size through every phase: register, apply → all Ready, at rest, each rollout kind, a
// relabel storm and a 10 % offline storm (and back), then what the broker retains.
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { GROUP, VERSION, WASM_FUNCTION_PLURAL, type WasmFunction } from '@wasmfleet/api';
import type { ControlPlane } from '@wasmfleet/test-support';
import { BrokerCounters, retainedBytes } from './measure/broker-stats.ts';
import { cliView, type CliView } from './measure/cli-view.ts';
import { RssSampler } from './measure/process-usage.ts';
import { atRest, measure, pooled, type FleetBench, type PhaseResult } from './phases.ts';
import {
  customObjects,
  prepareNamespace,
  startBenchBroker,
  startOperatorProcess,
  type OperatorRuntime,
} from './fleet-stack.ts';
import { Swarm } from './sim/swarm.ts';

export interface ScenarioOptions {
  readonly devices: number;
  /** Devices per MQTT connection (1: each device its own connection and last will). */
  readonly perLink: number;
  readonly linksPerProcess: number;
  readonly heartbeatSeconds: number;
  readonly restSeconds: number;
  readonly operatorArgs: readonly string[];
  readonly operatorRuntime: Omit<OperatorRuntime, 'devices'>;
  /** The last group of phases to run (each needs the ones before it). */
  readonly stopAfter: PhaseGroup;
}

/** The scenario's phases in the order they run; `--stop-after` names the last one wanted. */
const PHASE_GROUPS = ['apply', 'rest', 'cli', 'rollouts', 'relabel', 'offline'] as const;
type PhaseGroup = (typeof PHASE_GROUPS)[number];

export function parseStopAfter(value: string): PhaseGroup {
  const group = PHASE_GROUPS.find((g) => g === value);
  if (group === undefined)
    throw new Error(`--stop-after must be one of ${PHASE_GROUPS.join(', ')}, not ${JSON.stringify(value)}`);
  return group;
}

export interface ScenarioResult {
  readonly devices: number;
  readonly perLink: number;
  readonly phases: PhaseResult[];
  readonly retained: { messages: number; bytes: number };
  /** What the real CLI showed of every device at this size (the `cli` group). */
  readonly cli?: CliView;
  readonly finalRss: ReadonlyMap<string, number>;
}

const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const QUARANTINE = 'quarantine';

export async function runScenario(plane: ControlPlane, o: ScenarioOptions): Promise<ScenarioResult> {
  const n = o.devices;
  const namespace = `fleet-${n}-${Date.now().toString(36)}`;
  const fleet = namespace;
  const nodes = Array.from({ length: n }, (_, i) => `${fleet}-d${String(i).padStart(6, '0')}`);
  const broker = await startBenchBroker();
  await prepareNamespace(plane, namespace);
  const operator = await startOperatorProcess(plane, broker.url, { namespace, fleet }, o.operatorArgs, {
    ...o.operatorRuntime,
    devices: n,
  });
  const counters = await BrokerCounters.connect(broker.url);
  let swarm: Swarm | undefined;
  const processes = new Map<string, () => readonly number[]>([
    ['operator', () => [operator.process.pid]],
    ['broker', () => (broker.pid === undefined ? [] : [broker.pid])],
    ['kube-apiserver+etcd', () => plane.pids],
    ['devices', () => swarm?.pids ?? []],
  ]);
  const sampler = new RssSampler(processes);
  const b: FleetBench = {
    plane,
    broker,
    operator,
    get swarm() {
      if (!swarm) throw new Error('the simulated fleet has not started');
      return swarm;
    },
    api: customObjects(plane),
    namespace,
    nodes,
    counters,
    sampler,
    processes,
  };
  const phases: PhaseResult[] = [];
  let cli: CliView | undefined;
  try {
    console.error(`${n} devices (${o.perLink} per MQTT connection):`);
    phases.push(await register(b, o, (s) => (swarm = s)));
    const groups: Record<PhaseGroup, () => Promise<PhaseResult[]>> = {
      apply: async () => [await apply(b)],
      rest: async () => [await atRest(b, o.restSeconds * 1000)],
      cli: async () => {
        cli = await showFleet(b);
        return [];
      },
      rollouts: () => rollouts(b),
      relabel: () => relabelStorm(b),
      offline: () => offlineStorm(b),
    };
    for (const group of PHASE_GROUPS.slice(0, PHASE_GROUPS.indexOf(o.stopAfter) + 1))
      phases.push(...(await groups[group]()));
    const retained = await retainedBytes(broker.url);
    return {
      devices: n,
      perLink: o.perLink,
      phases,
      retained,
      ...(cli ? { cli } : {}),
      finalRss: sampler.reset(),
    };
  } finally {
    sampler.stop();
    await counters.close().catch(() => undefined);
    await swarm?.stop();
    await operator.process.stop();
    await broker.dispose();
  }
}

async function register(
  b: FleetBench,
  o: ScenarioOptions,
  started: (s: Swarm) => void,
): Promise<PhaseResult> {
  return measure(
    b,
    'register',
    async () => {
      started(
        await Swarm.start({
          brokerUrl: b.broker.url,
          nodes: b.nodes,
          perLink: o.perLink,
          linksPerProcess: o.linksPerProcess,
          heartbeatSeconds: o.heartbeatSeconds,
          localAddresses: ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'],
        }),
      );
    },
    async () => (await b.operator.metric('wasmfleet_devices_online')) === b.nodes.length,
  );
}

/** `wasmfleet get nodes --broker`, `describe node --broker` and `describe function` at this size. */
async function showFleet(b: FleetBench): Promise<CliView> {
  const view = await cliView({
    kubeconfig: b.plane.kubeconfigPath,
    brokerUrl: b.broker.url,
    fleet: b.namespace,
    namespace: b.namespace,
    functionName: 'f',
    oneNode: b.nodes[b.nodes.length - 1] ?? '',
  });
  const get = view.commands[0];
  console.error(
    `  CLI: get nodes --broker ${view.rowsWithDetail}/${view.rows} rows with FUNCTIONS and LAST-SEEN in ${get?.seconds ?? 0} s (${get?.cpuSeconds.toFixed(1) ?? 0} CPU-s)${view.note ? `; said: ${view.note}` : ''}; describe node shows the function: ${view.nodeShowsFunction}; describe function lists devices: ${view.functionListsDevices}`,
  );
  return view;
}

async function getFunction(b: FleetBench): Promise<WasmFunction> {
  return (await b.api.getNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    plural: WASM_FUNCTION_PLURAL,
    namespace: b.namespace,
    name: 'f',
  })) as WasmFunction;
}

/** Every one of `expected` devices reports the update revision Running and the rollout is over. */
async function converged(b: FleetBench, expected: number): Promise<boolean> {
  const fn = await getFunction(b);
  const s = fn.status;
  return (
    s !== undefined &&
    s.desiredNodes === expected &&
    s.updatedNodes === expected &&
    s.readyNodes === expected &&
    s.observedGeneration === fn.metadata.generation &&
    s.currentRevision === s.updateRevision
  );
}

function apply(b: FleetBench): Promise<PhaseResult> {
  const manifest = {
    apiVersion: 'wasmfleet.io/v1alpha1',
    kind: 'WasmFunction',
    metadata: { name: 'f' },
    spec: {
      module: { configMap: { name: 'mod', key: 'module.wasm' } },
      placement: {
        sensors: ['temperature'],
        nodeSelector: { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: [QUARANTINE] }] },
      },
      inputs: [{ topic: 'sensors/{node}/temperature' }],
    },
  };
  return measure(
    b,
    'apply → all Ready',
    () => b.plane.kubectl(['apply', '-n', b.namespace, '-f', '-'], { stdin: JSON.stringify(manifest) }),
    () => converged(b, b.nodes.length),
  );
}

async function rollouts(b: FleetBench): Promise<PhaseResult[]> {
  return [
    await rollout(b, 'Rolling 25 %', '2', { strategy: 'Rolling', maxUnavailable: '25%' }),
    await rollout(b, 'Rolling 100 %', '3', { strategy: 'Rolling', maxUnavailable: '100%' }),
    await rollout(b, 'Canary 10/50/100', '4', {
      strategy: 'Canary',
      steps: [{ percent: 10 }, { percent: 50 }, { percent: 100 }],
    }),
  ];
}

function rollout(
  b: FleetBench,
  name: string,
  level: string,
  strategy: Record<string, unknown>,
): Promise<PhaseResult> {
  return measure(
    b,
    name,
    () =>
      b.plane.kubectl([
        'patch',
        'wasmfunction',
        'f',
        '-n',
        b.namespace,
        '--type=merge',
        '-p',
        JSON.stringify({ spec: { config: { LEVEL: level }, rollout: strategy } }),
      ]),
    () => converged(b, b.nodes.length),
  );
}

async function label(b: FleetBench, nodes: readonly string[], tier: string | null): Promise<void> {
  await pooled(nodes, 32, (name) =>
    b.api.patchClusterCustomObject(
      { group: GROUP, version: VERSION, plural: 'edgenodes', name, body: { metadata: { labels: { tier } } } },
      MERGE_PATCH,
    ),
  );
}

/** 10 % of the devices relabelled out of the function's placement, then back. */
async function relabelStorm(b: FleetBench): Promise<PhaseResult[]> {
  const some = b.nodes.filter((_, i) => i % 10 === 3);
  const rest = b.nodes.length - some.length;
  const out = await measure(
    b,
    'relabel storm: 10 % out',
    () => label(b, some, QUARANTINE),
    () => converged(b, rest),
    {
      ownWrites: some.length,
    },
  );
  const back = await measure(
    b,
    'relabel storm: 10 % back',
    () => label(b, some, null),
    () => converged(b, b.nodes.length),
    {
      ownWrites: some.length,
    },
  );
  return [out, back];
}

/** 10 % of the devices drop off (last will), then return. */
async function offlineStorm(b: FleetBench): Promise<PhaseResult[]> {
  const some = b.nodes.filter((_, i) => i % 10 === 7);
  const online = b.nodes.length - some.length;
  const seen = await measure(
    b,
    'offline storm: 10 % gone, function status',
    () => b.swarm.offline(some),
    async () => (await getFunction(b)).status?.readyNodes === online,
  );
  const nodesOffline = await measure(
    b,
    'offline storm: their EdgeNodes Offline',
    () => Promise.resolve(),
    async () => (await b.operator.metric('wasmfleet_devices_online')) === online,
  );
  const back = await measure(
    b,
    'offline storm: back, all Ready',
    () => b.swarm.online(some),
    async () =>
      (await b.operator.metric('wasmfleet_devices_online')) === b.nodes.length &&
      (await converged(b, b.nodes.length)),
  );
  return [seen, nodesOffline, back];
}
