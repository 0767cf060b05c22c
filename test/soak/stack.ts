// SPDX-License-Identifier: Apache-2.0
// The soak's system under test, all real processes: the operator binary against the shared
// kube-apiserver, a Mosquitto broker, three agent binaries running wasm, and the simulated
// sensors binary feeding them. Scoped to its own namespace and fleet, like every operator test.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt, { type MqttClient } from 'mqtt';
import { parseNodeStatus, type NodeStatus, type WasmFunction } from '@wasmfleet/api';
import {
  freePort,
  OPERATOR_CHART_HEAP_FLAGS,
  sharedControlPlane,
  spawnManaged,
  startMosquitto,
  uniqueName,
  waitFor,
  type ControlPlane,
  type ManagedProcess,
  type Mosquitto,
} from '@wasmfleet/test-support';
import { ensureBuilt } from '@wasmfleet/workloads';
import { watToWasm } from '../../agent/test/helpers/wasm.ts';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const OPERATOR_BIN = here('../../operator/bin/wasmfleet-operator.ts');
const AGENT_BIN = here('../../agent/bin/wasmfleet-agent.js');
const SENSORS_BIN = here('../../agent/bin/wasmfleet-sim-sensors.ts');
const TRAP_WAT = here('../../agent/test/fixtures/hostile/trap/module.wat');

/**
 * The operator remembers each Event it reported for this long (10 minutes by default), a bounded
 * cache that would still be filling during a 10-minute soak's fit. Two minutes is shorter than
 * the warm-up of any run of 8 minutes or more, so the fit sees it full.
 */
const EVENT_WINDOW = '2m';

export const SOAK_LABEL = 'wasmfleet.io/soak';
export const STEADY_MODULE = 'temp-alert-wasm';
export const TRAP_MODULE = 'trap-wasm';

export interface Watched {
  readonly name: string;
  readonly pid: number;
  /** Where its V8 heap is read (Prometheus text); none for Mosquitto, which is C. */
  readonly metricsUrl: string | undefined;
  readonly heapMetric: string | undefined;
}

export interface Stack {
  readonly plane: ControlPlane;
  readonly namespace: string;
  readonly nodes: readonly string[];
  readonly broker: Mosquitto;
  readonly operator: ManagedProcess;
  readonly agents: readonly ManagedProcess[];
  readonly sensors: ManagedProcess;
  /** The processes the soak samples: operator, each agent, Mosquitto. */
  readonly watched: readonly Watched[];
  readonly monitor: Monitor;
  apply(object: unknown): Promise<void>;
  delete(kind: string, name: string): Promise<void>;
  fn(name: string): Promise<WasmFunction | undefined>;
  functions(): Promise<WasmFunction[]>;
  stop(): Promise<void>;
}

/** Listens to what the fleet publishes: outputs, and each node's latest status document. */
export class Monitor {
  outputs = 0;
  lastOutputAt = 0;
  readonly status = new Map<string, NodeStatus>();
  /** Highest invocation count seen per node/namespace/name/revision: the messages processed. */
  readonly #invocations = new Map<string, number>();

  readonly client: MqttClient;

  constructor(client: MqttClient) {
    this.client = client;
    client.on('message', (topic, payload) => {
      if (topic.startsWith('wasmfleet/v1/nodes/')) {
        const parsed = parseNodeStatus(payload);
        if (!parsed.ok || parsed.value.state !== 'online') return;
        this.status.set(parsed.value.node, parsed.value);
        for (const f of parsed.value.functions ?? []) {
          const key = `${parsed.value.node}/${f.namespace}/${f.name}/${f.revision}`;
          this.#invocations.set(key, Math.max(this.#invocations.get(key) ?? 0, f.invocations));
        }
      } else {
        this.outputs++;
        this.lastOutputAt = Date.now();
      }
    });
  }

  messagesProcessed(): number {
    let total = 0;
    for (const n of this.#invocations.values()) total += n;
    return total;
  }
}

export async function startStack(options: { agents: number; sensorIntervalMs: number }): Promise<Stack> {
  const plane = await sharedControlPlane();
  const namespace = uniqueName('soak');
  const fleet = uniqueName('soak-fleet');
  const scratch = await mkdtemp(path.join(tmpdir(), 'wasmfleet-soak-'));
  const started: ManagedProcess[] = [];
  const kubectl = async (args: string[], stdin?: string): Promise<string> => {
    const r = await plane.kubectl(args, stdin === undefined ? {} : { stdin });
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };
  const apply = async (object: unknown) => {
    await kubectl(['apply', '-n', namespace, '-f', '-'], JSON.stringify(object));
  };
  await kubectl(['create', 'namespace', namespace]);

  const broker = await startMosquitto();
  const nodes = Array.from({ length: options.agents }, (_, i) => `${fleet}-${String.fromCharCode(97 + i)}`);
  for (const node of nodes) {
    await apply({
      apiVersion: 'wasmfleet.io/v1alpha1',
      kind: 'EdgeNode',
      metadata: { name: node, labels: { 'wasmfleet.io/fleet': fleet, [SOAK_LABEL]: namespace } },
      spec: {},
    });
  }
  for (const [name, bytes] of [
    [STEADY_MODULE, await readFile(await ensureBuilt('temp-alert'))],
    [TRAP_MODULE, await watToWasm(await readFile(TRAP_WAT, 'utf8'))],
  ] as const) {
    const file = path.join(scratch, `${name}.wasm`);
    await writeFile(file, bytes);
    const yaml = await kubectl([
      'create',
      'configmap',
      name,
      '-n',
      namespace,
      `--from-file=module.wasm=${file}`,
      '--dry-run=client',
      '-o',
      'yaml',
    ]);
    await kubectl(['apply', '-n', namespace, '-f', '-'], yaml);
  }

  const opsPort = await freePort();
  const operator = spawnManaged('operator', process.execPath, {
    args: [
      // The heap the chart's pod gets (ADR 0016).
      ...OPERATOR_CHART_HEAP_FLAGS,
      OPERATOR_BIN,
      '--kubeconfig',
      plane.kubeconfigPath,
      '--broker',
      broker.url,
      '--namespace',
      namespace,
      '--fleet',
      fleet,
      '--ops-bind-address',
      `127.0.0.1:${opsPort}`,
      '--event-aggregation-window',
      EVENT_WINDOW,
    ],
    logFile: path.join(scratch, 'operator.log'),
  });
  started.push(operator);
  const opsUrl = `http://127.0.0.1:${opsPort}`;
  await waitFor(
    'the operator to be ready',
    async () => ((await fetch(`${opsUrl}/readyz`).catch(() => undefined))?.status === 200 ? true : undefined),
    { timeoutMs: 60_000, intervalMs: 250 },
  );

  const agents: ManagedProcess[] = [];
  const watched: Watched[] = [
    {
      name: 'operator',
      pid: operator.pid,
      metricsUrl: `${opsUrl}/metrics`,
      heapMetric: 'wasmfleet_nodejs_heap_live_bytes',
    },
  ];
  for (const node of nodes) {
    const port = await freePort();
    const agent = spawnManaged(`agent ${node}`, process.execPath, {
      args: [
        AGENT_BIN,
        '--broker',
        broker.url,
        '--node',
        node,
        '--data-dir',
        path.join(scratch, node),
        '--heartbeat',
        '1',
        '--sensors',
        'temperature,humidity',
        '--metrics-address',
        `127.0.0.1:${port}`,
      ],
      logFile: path.join(scratch, `${node}.log`),
    });
    started.push(agent);
    agents.push(agent);
    watched.push({
      name: `agent-${node.slice(-1)}`,
      pid: agent.pid,
      metricsUrl: `http://127.0.0.1:${port}/metrics`,
      heapMetric: 'wasmfleet_agent_nodejs_heap_live_bytes',
    });
  }
  if (broker.pid === undefined) throw new Error('Mosquitto reported no pid; cannot sample it');
  watched.push({ name: 'mosquitto', pid: broker.pid, metricsUrl: undefined, heapMetric: undefined });

  const sensors = spawnManaged('sim-sensors', process.execPath, {
    args: [
      SENSORS_BIN,
      '--broker',
      broker.url,
      ...nodes.flatMap((n) => ['--node', n]),
      '--interval',
      String(options.sensorIntervalMs),
    ],
    logFile: path.join(scratch, 'sensors.log'),
  });
  started.push(sensors);

  const client = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
  const monitor = new Monitor(client);
  await client.subscribeAsync(['wasmfleet/v1/nodes/+/status', 'alerts/#'], { qos: 0 });

  const fnOf = async (name: string): Promise<WasmFunction | undefined> => {
    const r = await plane.kubectl(['get', 'wasmfunction', name, '-n', namespace, '-o', 'json']);
    if (r.code !== 0) {
      if (/NotFound|not found/.test(r.stderr)) return undefined;
      throw new Error(`kubectl get wasmfunction ${name} failed: ${r.stderr}`);
    }
    return JSON.parse(r.stdout) as WasmFunction;
  };
  return {
    plane,
    namespace,
    nodes,
    broker,
    operator,
    agents,
    sensors,
    watched,
    monitor,
    apply,
    async delete(kind, name) {
      await kubectl(['delete', kind, name, '-n', namespace, '--wait=true', '--timeout=120s']);
    },
    fn: fnOf,
    async functions() {
      const out = await kubectl(['get', 'wasmfunctions', '-n', namespace, '-o', 'json']);
      return (JSON.parse(out) as { items: WasmFunction[] }).items;
    },
    async stop() {
      await client.endAsync().catch(() => undefined);
      await Promise.allSettled(started.reverse().map((p) => p.stop()));
      await broker.dispose();
      await plane.kubectl(['delete', 'namespace', namespace, '--wait=false']);
      await plane.kubectl(['delete', 'edgenodes', '-l', `wasmfleet.io/fleet=${fleet}`, '--wait=false']);
      if (process.env.WASMFLEET_SOAK_KEEP_LOGS) console.log(`soak: logs kept in ${scratch}`);
      else await rm(scratch, { recursive: true, force: true });
    },
  };
}
