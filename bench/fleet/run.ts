// SPDX-License-Identifier: Apache-2.0
// The fleet-scale benchmark (issue 18): a real kube-apiserver + etcd, Mosquitto, the operator as
// its own process, and N simulated devices at the MQTT level (bench/fleet/sim): register,
// `kubectl apply` → all Ready, at rest, each rollout kind, a relabel storm and a 10 % offline
// storm. Prints a table per size; never fails on timing.
//
//   node bench/fleet/run.ts --devices 1000,10000 [--per-link 1] [--rest 60] [--label after]
//     [--stop-after apply|rest|rollouts|relabel|offline] [--operator-heap chart|unbounded] [--operator-node-option=--flag=value]
//
// Up to --max-real devices each get their own MQTT connection and last will; above it devices
// share connections (the machine's file-descriptor limit is per process, ulimit -n).
import { mkdir, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { startControlPlane } from '@wasmfleet/test-support';
import { machine, table } from './report.ts';
import { parseOperatorHeap } from './fleet-stack.ts';
import { parseStopAfter, runScenario, type ScenarioResult } from './scenario.ts';

const { values } = parseArgs({
  options: {
    devices: { type: 'string', default: '1000' },
    'per-link': { type: 'string' },
    'max-real': { type: 'string', default: '15000' },
    'links-per-process': { type: 'string', default: '5000' },
    heartbeat: { type: 'string', default: '30' },
    rest: { type: 'string', default: '60' },
    label: { type: 'string', default: 'run' },
    'operator-arg': { type: 'string', multiple: true, default: [] },
    'operator-heap': { type: 'string', default: 'chart' },
    'operator-node-option': { type: 'string', multiple: true, default: [] },
    'stop-after': { type: 'string', default: 'offline' },
  },
});

const maxReal = Number(values['max-real']);
const operatorHeap = parseOperatorHeap(values['operator-heap']);
const stopAfter = parseStopAfter(values['stop-after']);
const plane = await startControlPlane();
const results: ScenarioResult[] = [];
try {
  for (const devices of values.devices.split(',').map(Number)) {
    const perLink = values['per-link']
      ? Number(values['per-link'])
      : devices <= maxReal
        ? 1
        : Math.ceil(devices / maxReal);
    results.push(
      await runScenario(plane, {
        devices,
        perLink,
        linksPerProcess: Number(values['links-per-process']),
        heartbeatSeconds: Number(values.heartbeat),
        restSeconds: Number(values.rest),
        operatorArgs: values['operator-arg'],
        operatorRuntime: { heap: operatorHeap, nodeOptions: values['operator-node-option'] },
        stopAfter,
      }),
    );
  }
} finally {
  await plane.stop();
}
for (const r of results) console.log(table(r));
await mkdir(new URL('../results/', import.meta.url), { recursive: true });
await writeFile(
  new URL(`../results/fleet-${values.label}.json`, import.meta.url),
  JSON.stringify(
    { date: new Date().toISOString(), machine: machine(), label: values.label, results },
    (_k, v: unknown): unknown => (v instanceof Map ? Object.fromEntries(v) : v),
    2,
  ),
);
