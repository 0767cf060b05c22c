// SPDX-License-Identifier: Apache-2.0
// The full run: every function re-examined against every node, starting from `current`.
import { assemble } from './assemble.ts';
import { run, type Scope } from './engine.ts';
import { indexFor } from './node-index.ts';
import { compareStrings } from './order.ts';
import type {
  SchedulableFunction,
  SchedulableNode,
  ScheduleInput,
  ScheduleResult,
  SchedulerOptions,
} from './types.ts';
import { Usage } from './usage.ts';

export const DEFAULT_OPTIONS: SchedulerOptions = { replicaGracePeriodMs: 5 * 60_000 };

/** Keyed maps; duplicate keys are a bug in the caller (two objects claiming one identity). */
export function byKey<T>(items: readonly T[], keyOf: (item: T) => string, what: string): Map<string, T> {
  const map = new Map<string, T>();
  for (const item of items) {
    const key = keyOf(item);
    if (map.has(key)) throw new Error(`scheduler input has two ${what}s named "${key}"`);
    map.set(key, item);
  }
  return map;
}

export function schedule(input: ScheduleInput): ScheduleResult {
  const options: SchedulerOptions = { ...DEFAULT_OPTIONS, ...input.options };
  const functions = byKey<SchedulableFunction>(input.functions, (f) => f.key, 'function');
  const nodes = byKey<SchedulableNode>(input.nodes, (n) => n.name, 'node');
  const previous = new Map<string, string[]>();
  for (const [key, list] of input.current) {
    if (functions.has(key)) previous.set(key, [...new Set(list)].sort(compareStrings));
  }
  const work = new Map<string, Scope>([...functions.keys()].map((key) => [key, 'all']));
  const usage = new Usage();
  const { outcomes, removals } = run({
    functions,
    nodes,
    index: indexFor(nodes),
    previous: (key) => previous.get(key) ?? [],
    usage,
    work,
    changedNodes: [],
    options,
    now: input.now,
  });
  return assemble({
    functions,
    nodes,
    outcomes,
    recomputed: work.keys(),
    removals,
    usage,
    options,
    now: input.now,
  });
}
