// SPDX-License-Identifier: Apache-2.0
// Shards (issue 18 item 4, ADR 0038): the same fleet run by one operator and then split over K
// operators, each with its own Mosquitto, fleet and namespace, against one kube-apiserver + etcd.
// Per layout: register every device, then `kubectl apply` one function in every shard at once →
// all Ready; wall time, API writes (the API server's count) and each operator's CPU and peak RSS.
// Prints the layouts side by side; never fails on timing.
//
//   node bench/fleet/shards.ts --devices 2000 --shards 1,2 [--operator-heap chart|unbounded] [--operator-node-option=--flag=value]
import { parseArgs } from 'node:util';
import { GROUP, VERSION, WASM_FUNCTION_PLURAL, type WasmFunction } from '@wasmfleet/api';
import { startControlPlane, waitFor, type ControlPlane, type Mosquitto } from '@wasmfleet/test-support';
import { total, writesByResource } from './measure/api-writes.ts';
import { cpuSeconds, RssSampler } from './measure/process-usage.ts';
import { machine } from './report.ts';
import {
  customObjects,
  parseOperatorHeap,
  prepareNamespace,
  startBenchBroker,
  startOperatorProcess,
  type OperatorProcess,
} from './fleet-stack.ts';
import { Swarm } from './sim/swarm.ts';

const { values } = parseArgs({
  options: {
    devices: { type: 'string', default: '2000' },
    shards: { type: 'string', default: '1,2' },
    'operator-arg': { type: 'string', multiple: true, default: [] },
    'operator-heap': { type: 'string', default: 'chart' },
    'operator-node-option': { type: 'string', multiple: true, default: [] },
  },
});
const operatorHeap = parseOperatorHeap(values['operator-heap']);

interface Shard {
  readonly namespace: string;
  readonly nodes: readonly string[];
  readonly broker: Mosquitto;
  readonly operator: OperatorProcess;
  swarm?: Swarm;
}

interface Phase {
  readonly s: number;
  readonly writes: number;
  readonly operatorCpu: number[];
}

const FUNCTION = {
  apiVersion: 'wasmfleet.io/v1alpha1',
  kind: 'WasmFunction',
  metadata: { name: 'f' },
  spec: {
    module: { configMap: { name: 'mod', key: 'module.wasm' } },
    placement: { sensors: ['temperature'] },
    inputs: [{ topic: 'sensors/{node}/temperature' }],
  },
};

async function startShards(plane: ControlPlane, devices: number, k: number): Promise<Shard[]> {
  const run = Date.now().toString(36);
  const shards: Shard[] = [];
  for (let i = 0; i < k; i++) {
    const namespace = `shard-${k}-${i}-${run}`;
    const per = Math.floor(devices / k) + (i < devices % k ? 1 : 0);
    const broker = await startBenchBroker();
    await prepareNamespace(plane, namespace);
    const operator = await startOperatorProcess(
      plane,
      broker.url,
      { namespace, fleet: namespace },
      values['operator-arg'],
      { heap: operatorHeap, devices: per, nodeOptions: values['operator-node-option'] },
    );
    const nodes = Array.from({ length: per }, (_, d) => `${namespace}-d${String(d).padStart(6, '0')}`);
    shards.push({ namespace, nodes, broker, operator });
  }
  return shards;
}

/** Runs `act`, waits for `done` in every shard, and counts what it cost. */
async function phase(
  plane: ControlPlane,
  shards: readonly Shard[],
  act: () => Promise<unknown>,
  done: (s: Shard) => Promise<boolean>,
): Promise<Phase> {
  const writes = async () => total(await writesByResource(plane.server, plane.token, plane.caPem));
  const w0 = await writes();
  const cpu0 = shards.map((s) => cpuSeconds(s.operator.process.pid));
  const t0 = performance.now();
  await act();
  await waitFor(
    'every shard',
    async () => ((await Promise.all(shards.map(done))).every(Boolean) ? true : undefined),
    {
      timeoutMs: 1_800_000,
      intervalMs: 200,
    },
  );
  const s = (performance.now() - t0) / 1000;
  return {
    s,
    writes: (await writes()) - w0,
    operatorCpu: shards.map((sh, i) => cpuSeconds(sh.operator.process.pid) - (cpu0[i] ?? 0)),
  };
}

async function ready(plane: ControlPlane, s: Shard): Promise<boolean> {
  const fn = (await customObjects(plane).getNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    plural: WASM_FUNCTION_PLURAL,
    namespace: s.namespace,
    name: 'f',
  })) as WasmFunction;
  return fn.status?.readyNodes === s.nodes.length && fn.status.updatedNodes === s.nodes.length;
}

async function layout(plane: ControlPlane, devices: number, k: number): Promise<string> {
  const shards = await startShards(plane, devices, k);
  const rss = new RssSampler(
    new Map(shards.map((s, i) => [`operator ${i}`, () => [s.operator.process.pid]])),
  );
  try {
    const register = await phase(
      plane,
      shards,
      () =>
        Promise.all(
          shards.map(async (s) => {
            s.swarm = await Swarm.start({
              brokerUrl: s.broker.url,
              nodes: s.nodes,
              perLink: 1,
              linksPerProcess: 5000,
              heartbeatSeconds: 30,
              localAddresses: ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'],
            });
          }),
        ),
      async (s) => (await s.operator.metric('wasmfleet_devices_online')) === s.nodes.length,
    );
    const apply = await phase(
      plane,
      shards,
      () =>
        Promise.all(
          shards.map((s) =>
            plane.kubectl(['apply', '-n', s.namespace, '-f', '-'], { stdin: JSON.stringify(FUNCTION) }),
          ),
        ),
      (s) => ready(plane, s),
    );
    const peaks = rss.reset();
    const mib = (n: number | undefined) => ((n ?? 0) / 1024 / 1024).toFixed(0);
    const cpu = (p: Phase) => p.operatorCpu.map((c) => c.toFixed(1)).join(' / ');
    return `| ${k} × ${(devices / k).toLocaleString('en')} | ${register.s.toFixed(2)} | ${register.writes} | ${cpu(register)} | ${apply.s.toFixed(2)} | ${apply.writes} | ${cpu(apply)} | ${shards.map((_, i) => mib(peaks.get(`operator ${i}`))).join(' / ')} |`;
  } finally {
    rss.stop();
    for (const s of shards) {
      await s.swarm?.stop();
      await s.operator.process.stop();
      await s.broker.dispose();
    }
  }
}

const plane = await startControlPlane();
const rows: string[] = [];
try {
  for (const k of values.shards.split(',').map(Number)) {
    console.error(`${values.devices} devices over ${k} shard(s)…`);
    rows.push(await layout(plane, Number(values.devices), k));
    console.error(rows.at(-1));
  }
} finally {
  await plane.stop();
}
console.log(`\n${machine()}\n`);
console.log(
  '| shards × devices | register s | API writes | operator CPU-s | apply → all Ready s | API writes | operator CPU-s | operator peak RSS MiB |',
);
console.log('|---|---:|---:|---|---:|---:|---|---|');
for (const row of rows) console.log(row);
