// SPDX-License-Identifier: Apache-2.0
// Scheduler benchmark: 1,000 functions × 10,000 devices, full and incremental runs, time and heap.
//
//   node bench/scheduler/run.ts
//
// Prints a table and writes bench/results/scheduler.json. Timings never fail the run; a mismatch
// between an incremental and the equivalent full run does (exit code 1), since that is a bug.
import { isDeepStrictEqual } from 'node:util';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import path from 'node:path';
import { reschedule, schedule } from '../../operator/src/scheduler/index.ts';
import type { SchedulableNode, ScheduleResult } from '../../operator/src/scheduler/index.ts';
import { makeFleet, makeFunction, random, SITES } from './fleet.ts';
import { measure, median, type Sample } from './measure.ts';

const FUNCTIONS = 1_000;
const NODES = 10_000;
const NOW = Date.UTC(2025, 0, 1);
const FULL_RUNS = 3;
const INCREMENTAL_RUNS = 20;

const { nodes, functions } = makeFleet(FUNCTIONS, NODES, NOW);
const currentOf = (r: ScheduleResult) => new Map([...r.placements].map(([k, p]) => [k, p.nodes]));
const visible = (r: ScheduleResult) => ({
  placements: r.placements,
  removals: r.removals,
  nextWakeAt: r.nextWakeAt,
});

interface Row {
  readonly scenario: string;
  readonly sample: Sample;
}
const rows: Row[] = [];

const cold = measure(FULL_RUNS, () => schedule({ functions, nodes, current: new Map(), now: NOW }));
rows.push({ scenario: 'full, from nothing', sample: cold.sample });
const base = cold.last;
const steady = measure(FULL_RUNS, () => schedule({ functions, nodes, current: currentOf(base), now: NOW }));
rows.push({ scenario: 'full, from its own output (resync)', sample: steady.sample });
const stable =
  isDeepStrictEqual(steady.last.placements, base.placements) && steady.last.removals.length === 0;

// One node relabelled: it moves to another site, so Every functions of both sites and any
// replica on it are affected.
const rnd = random(7);
const relabelled: SchedulableNode[] = Array.from({ length: INCREMENTAL_RUNS }, () => {
  const node = nodes[Math.floor(rnd() * nodes.length)]!;
  const site = `plant-${Math.floor(rnd() * SITES) + 1}`;
  return { ...node, labels: { ...node.labels, site, zone: `${site}-z1` } };
});
const incRelabel = measure(INCREMENTAL_RUNS, (i) => reschedule(base, { upsertNodes: [relabelled[i]!] }));
rows.push({ scenario: 'incremental: one node relabelled', sample: incRelabel.sample });
const nodesAfter = nodes.map((n) => (n.name === relabelled.at(-1)!.name ? relabelled.at(-1)! : n));
const fullRelabel = measure(FULL_RUNS, () =>
  schedule({ functions, nodes: nodesAfter, current: currentOf(base), now: NOW }),
);
rows.push({ scenario: 'full: same relabel', sample: fullRelabel.sample });

const added = Array.from({ length: INCREMENTAL_RUNS }, (_, i) =>
  makeFunction(random(100 + i), FUNCTIONS + i),
);
const incAdd = measure(INCREMENTAL_RUNS, (i) => reschedule(base, { upsertFunctions: [added[i]!] }));
rows.push({ scenario: 'incremental: one function added', sample: incAdd.sample });
const fullAdd = measure(FULL_RUNS, () =>
  schedule({ functions: [...functions, added.at(-1)!], nodes, current: currentOf(base), now: NOW }),
);
rows.push({ scenario: 'full: same function added', sample: fullAdd.sample });

const equivalent =
  isDeepStrictEqual(visible(incRelabel.last), visible(fullRelabel.last)) &&
  isDeepStrictEqual(visible(incAdd.last), visible(fullAdd.last));

const placements = [...base.placements.values()];
const fleet = {
  functions: FUNCTIONS,
  nodes: NODES,
  assignments: placements.reduce((sum, p) => sum + p.nodes.length, 0),
  shortFunctions: placements.filter((p) => p.reason !== undefined).length,
  watchedFunctions: base.state.watched.size,
};

const MiB = 1024 * 1024;
const fmt = (n: number, digits = 1) => n.toFixed(digits);
const table = [
  ['scenario', 'runs', 'median ms', 'min ms', 'max ms', 'retained MiB', 'heap after MiB'],
  ...rows.map(({ scenario, sample: s }) => [
    scenario,
    String(s.ms.length),
    fmt(median(s.ms), 2),
    fmt(Math.min(...s.ms), 2),
    fmt(Math.max(...s.ms), 2),
    fmt(s.retainedBytes / MiB),
    fmt(s.heapAfterBytes / MiB),
  ]),
];
const widths = table[0]!.map((_, c) => Math.max(...table.map((r) => r[c]!.length)));
const line = (r: string[]) =>
  `| ${r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join(' | ')} |`;
console.log(
  `Scheduler: ${FUNCTIONS} functions × ${NODES} devices (${fleet.assignments} assignments, ` +
    `${fleet.shortFunctions} functions short, ${fleet.watchedFunctions} watched)`,
);
console.log(line(table[0]!));
console.log(`| ${widths.map((w, c) => (c === 0 ? '-'.repeat(w) : `${'-'.repeat(w - 1)}:`)).join(' | ')} |`);
for (const r of table.slice(1)) console.log(line(r));
console.log(`stable on re-run: ${stable}; incremental == full: ${equivalent}`);
console.log(
  `node ${process.version}, ${availableParallelism()} cores (${cpus()[0]?.model ?? 'unknown cpu'})`,
);

const out = path.resolve(import.meta.dirname, '../results/scheduler.json');
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(
  out,
  `${JSON.stringify(
    {
      benchmark: 'scheduler',
      date: new Date().toISOString(),
      node: process.version,
      cores: availableParallelism(),
      cpu: cpus()[0]?.model ?? 'unknown',
      fleet,
      stable,
      equivalent,
      rows: rows.map(({ scenario, sample: s }) => ({
        scenario,
        runs: s.ms.length,
        medianMs: median(s.ms),
        minMs: Math.min(...s.ms),
        maxMs: Math.max(...s.ms),
        retainedBytes: s.retainedBytes,
        heapAfterBytes: s.heapAfterBytes,
      })),
    },
    null,
    2,
  )}\n`,
);
console.log(`wrote ${path.relative(process.cwd(), out)}`);
if (!stable || !equivalent) process.exitCode = 1;
