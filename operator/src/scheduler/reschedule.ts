// SPDX-License-Identifier: Apache-2.0
// The incremental run: apply changes to a previous result and recompute only what they affect.
// Produces exactly what `schedule` would for the changed inputs with the previous placement as
// `current` (tested as a property).
import { affected } from './affected.ts';
import { assemble } from './assemble.ts';
import { run } from './engine.ts';
import { indexFor, rememberIndex } from './node-index.ts';
import { byKey } from './schedule.ts';
import type { SchedulableFunction, SchedulableNode, ScheduleResult, SchedulerChanges } from './types.ts';
import { Usage } from './usage.ts';

/** `base` with the changes; `base` itself when there are none (a copy costs O(devices)). */
function applied<T>(
  base: ReadonlyMap<string, T>,
  upserts: ReadonlyMap<string, T>,
  removes: readonly string[],
): ReadonlyMap<string, T> {
  if (upserts.size === 0 && removes.length === 0) return base;
  const next = new Map(base);
  for (const key of removes) next.delete(key);
  for (const [key, value] of upserts) next.set(key, value);
  return next;
}

export function reschedule(previous: ScheduleResult, changes: SchedulerChanges): ScheduleResult {
  const { state } = previous;
  const now = changes.now ?? state.now;
  const fnUpserts = byKey<SchedulableFunction>(changes.upsertFunctions ?? [], (f) => f.key, 'function');
  const nodeUpserts = byKey<SchedulableNode>(changes.upsertNodes ?? [], (n) => n.name, 'node');
  const fnRemoves = (changes.removeFunctions ?? []).filter((k) => !fnUpserts.has(k));
  const nodeRemoves = (changes.removeNodes ?? []).filter((n) => !nodeUpserts.has(n) && state.nodes.has(n));
  const functions = applied(state.functions, fnUpserts, fnRemoves);
  const nodes = applied(state.nodes, nodeUpserts, nodeRemoves);
  const changedNodes = [...nodeUpserts.keys(), ...nodeRemoves];
  const changedFunctions = [...fnUpserts.keys(), ...fnRemoves.filter((k) => state.functions.has(k))];

  const index = nodes === state.nodes ? indexFor(nodes) : indexFor(state.nodes).derive(nodes, changedNodes);
  rememberIndex(index);
  const work = affected(previous, functions, nodes, changedFunctions, changedNodes);
  const usage = new Usage(state.usage);
  const { outcomes, removals } = run({
    functions,
    nodes,
    index,
    previous: (key) => previous.placements.get(key)?.nodes ?? [],
    previousFunctions: state.functions,
    usage,
    work,
    changedNodes,
    previousResult: { placements: previous.placements, nodes: state.nodes },
    options: state.options,
    now,
  });
  for (const name of nodeRemoves) usage.forget(name);
  return assemble({
    functions,
    nodes,
    outcomes,
    previous,
    recomputed: work.keys(),
    removals,
    usage,
    options: state.options,
    now,
  });
}
