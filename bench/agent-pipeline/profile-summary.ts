// SPDX-License-Identifier: Apache-2.0
// Summarises a V8 .cpuprofile (profile.ts writes one per thread) so two processes' profiles can be
// compared per message: busy time (samples outside "(idle)"/"(program)" excluded or shown apart),
// the top functions by self time, and the time spent under each named function (inclusive).
//   node bench/agent-pipeline/profile-summary.ts FILE.cpuprofile [--messages 60000] [--top 40]
//                                                [--under 'onPacket,deliverOutputs,…']
// With --messages each line also reads as µs per message.
import { readFile } from 'node:fs/promises';
import type { CpuProfile } from './tail-analysis.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

const file = process.argv[2];
if (!file || file.startsWith('--')) {
  console.error('usage: profile-summary.ts FILE.cpuprofile [--messages N] [--top N] [--under a,b]');
  process.exit(2);
}
const messages = Number(arg('--messages', '0'));
const top = Number(arg('--top', '40'));
const under = arg('--under', '').split(',').filter(Boolean);

const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
type Node = CpuProfile['nodes'][number];
const byId = new Map<number, Node>(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

/** A frame's name with where it is defined (the last two path segments of its script). */
function frameName(n: Node): string {
  const f = n.callFrame;
  const where = f.url ? ` ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}` : '';
  return `${f.functionName || '(anonymous)'}${where}`;
}

// Each sample stands for the time until the next one (timeDeltas[i + 1]).
const selfUs = new Map<number, number>();
const deltas = profile.timeDeltas;
profile.samples.forEach((id, i) => {
  const us = deltas[i + 1] ?? 0;
  selfUs.set(id, (selfUs.get(id) ?? 0) + us);
});
const bySelf = new Map<string, number>();
const underUs = new Map<string, number>(under.map((u) => [u, 0]));
let totalUs = 0;
const apart = new Map<string, number>();
for (const [id, us] of selfUs) {
  const node = byId.get(id);
  if (!node) continue;
  const name = node.callFrame.functionName;
  if (name === '(idle)' || name === '(program)' || name === '(garbage collector)') {
    apart.set(name, (apart.get(name) ?? 0) + us);
    if (name !== '(idle)') totalUs += us;
    if (name === '(idle)') continue;
  } else totalUs += us;
  const key = frameName(node);
  bySelf.set(key, (bySelf.get(key) ?? 0) + us);
  // Inclusive: charge each named function once per sample, however deep it recurs.
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const fn = byId.get(cur)?.callFrame.functionName ?? '';
    for (const u of under) if (!seen.has(u) && fn === u) seen.add(u);
  }
  for (const u of seen) underUs.set(u, (underUs.get(u) ?? 0) + us);
}

const per = (us: number): string => (messages > 0 ? `${(us / messages).toFixed(2).padStart(7)} µs/msg` : '');
const pct = (us: number): string => `${((100 * us) / Math.max(totalUs, 1)).toFixed(1).padStart(5)} %`;
console.log(`${file}: busy ${(totalUs / 1000).toFixed(0)} ms ${per(totalUs)}`);
for (const [name, us] of apart) console.log(`  ${name}: ${(us / 1000).toFixed(0)} ms ${per(us)}`);
console.log(`top ${top} by self time (share of busy time):`);
for (const [name, us] of [...bySelf].sort((a, b) => b[1] - a[1]).slice(0, top))
  console.log(`  ${pct(us)} ${per(us)}  ${name}`);
if (under.length > 0) {
  console.log('inclusive:');
  for (const [name, us] of underUs) console.log(`  ${pct(us)} ${per(us)}  under ${name}`);
}
