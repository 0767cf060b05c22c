// SPDX-License-Identifier: Apache-2.0
// Turns a run's outcomes plus the untouched previous results into a ScheduleResult.
import type { FunctionOutcome } from './engine.ts';
import { compareStrings } from './order.ts';
import type {
  FunctionPlacement,
  Removal,
  SchedulableFunction,
  SchedulableNode,
  ScheduleResult,
  SchedulerOptions,
} from './types.ts';
import type { Usage } from './usage.ts';

export interface AssembleInput {
  readonly functions: ReadonlyMap<string, SchedulableFunction>;
  readonly nodes: ReadonlyMap<string, SchedulableNode>;
  readonly outcomes: ReadonlyMap<string, FunctionOutcome>;
  readonly previous?: ScheduleResult;
  /** Functions the run recomputed (their previous watch flags no longer apply). */
  readonly recomputed: Iterable<string>;
  readonly removals: Removal[];
  readonly usage: Usage;
  readonly options: SchedulerOptions;
  readonly now: number;
}

export function assemble(input: AssembleInput): ScheduleResult {
  const placements = new Map<string, FunctionPlacement>();
  for (const key of [...input.functions.keys()].sort(compareStrings)) {
    const placement = input.outcomes.get(key)?.placement ?? input.previous?.placements.get(key);
    if (placement !== undefined) placements.set(key, placement);
  }
  const watched = new Set(input.previous?.state.watched);
  for (const key of input.recomputed) watched.delete(key);
  let nextWakeAt: number | undefined;
  for (const [key, outcome] of input.outcomes) {
    if (outcome.watch) watched.add(key);
    if (outcome.wakeAt !== undefined) nextWakeAt = Math.min(nextWakeAt ?? Infinity, outcome.wakeAt);
  }
  input.removals.sort((a, b) => compareStrings(a.function, b.function) || compareStrings(a.node, b.node));
  return {
    placements,
    removals: input.removals,
    ...(nextWakeAt === undefined ? {} : { nextWakeAt }),
    state: {
      functions: input.functions,
      nodes: input.nodes,
      usage: input.usage.snapshot(),
      watched,
      options: input.options,
      now: input.now,
    },
  };
}
