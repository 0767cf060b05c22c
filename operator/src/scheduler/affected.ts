// SPDX-License-Identifier: Apache-2.0
// Which functions a change can affect, and how much of each must be looked at again. Everything
// left out keeps its previous result untouched, so this is where incremental == full is won or
// lost; the reasoning for each rule:
//   - a changed or removed function: all of it;
//   - a watched Replicas function (short, or with a replica on an offline node): all of it — freed
//     capacity anywhere, a new node anywhere, or the clock may change its result;
//   - a watched (short) Every function: changed nodes and nodes where this run freed room. On every
//     other node it already runs or was refused for lack of room, and that room is still taken;
//   - a changed node that runs a Replicas function: all of it (a lost replica is replaced anywhere);
//   - a changed node that runs, or is now targeted by, an Every function: that node only. The
//     function was not short, so every other eligible node already runs it;
//   - a Replicas function that is complete and not on a changed node: nothing (stability).
import type { Scope } from './engine.ts';
import { targets } from './eligibility.ts';
import { sortedIncludes } from './order.ts';
import { prepareFunction, prepareNode } from './prepared.ts';
import type { ScheduleResult, SchedulableFunction, SchedulableNode } from './types.ts';

export function affected(
  previous: ScheduleResult,
  functions: ReadonlyMap<string, SchedulableFunction>,
  nodes: ReadonlyMap<string, SchedulableNode>,
  changedFunctions: Iterable<string>,
  changedNodes: readonly string[],
): Map<string, Scope> {
  const work = new Map<string, Scope>();
  for (const key of changedFunctions) work.set(key, 'all');
  for (const key of previous.state.watched) {
    if (work.has(key)) continue;
    const fn = functions.get(key);
    // A short Every function can only gain on a changed node or where room was freed.
    work.set(key, fn?.mode === 'Every' ? { nodes: new Set(changedNodes), freed: true } : 'all');
  }
  if (changedNodes.length === 0) return work;

  const changed = changedNodes.flatMap((name) => {
    const node = nodes.get(name);
    return [{ name, prepared: node === undefined ? undefined : prepareNode(node) }];
  });
  for (const [key, placement] of previous.placements) {
    if (work.has(key)) continue;
    const fn = functions.get(key);
    if (fn === undefined) continue;
    const pf = prepareFunction(fn);
    if (pf.error !== undefined) continue;
    let scope: Set<string> | undefined;
    for (const { name, prepared } of changed) {
      const runsThere = sortedIncludes(placement.nodes, name);
      if (runsThere && fn.mode === 'Replicas') {
        work.set(key, 'all');
        scope = undefined;
        break;
      }
      if (runsThere || (fn.mode === 'Every' && prepared !== undefined && targets(pf, prepared).ok)) {
        (scope ??= new Set()).add(name);
      }
    }
    if (scope !== undefined) work.set(key, { nodes: scope, freed: false });
  }
  return work;
}
