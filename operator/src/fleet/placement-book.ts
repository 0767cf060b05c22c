// SPDX-License-Identifier: Apache-2.0
// Holds the scheduler's latest result and applies changes incrementally, reporting which
// functions' device sets changed (they need their documents and status recomputed).
import { jsonEqual } from '../kube/index.ts';
import {
  reschedule,
  schedule,
  type CurrentPlacement,
  type FunctionPlacement,
  type ScheduleResult,
  type SchedulableFunction,
  type SchedulableNode,
  type SchedulerChanges,
  type SchedulerOptions,
} from '../scheduler/index.ts';

export class PlacementBook {
  private result: ScheduleResult | undefined;
  private readonly options: Partial<SchedulerOptions>;

  constructor(options: Partial<SchedulerOptions> = {}) {
    this.options = options;
  }

  get ready(): boolean {
    return this.result !== undefined;
  }

  /** The first full run; `current` (from the broker's retained documents) keeps placements stable across restarts. */
  init(
    functions: readonly SchedulableFunction[],
    nodes: readonly SchedulableNode[],
    current: CurrentPlacement,
    now: number,
  ): void {
    this.result = schedule({ functions, nodes, current, now, options: this.options });
  }

  /** Applies a change; returns the functions whose assigned devices changed. */
  apply(changes: SchedulerChanges): Set<string> {
    const previous = this.result;
    if (!previous) throw new Error('PlacementBook.apply before init');
    if (nothingNew(previous, changes)) return new Set();
    const next = reschedule(previous, changes);
    this.result = next;
    const changed = new Set<string>();
    for (const [key, placement] of next.placements) {
      const before = previous.placements.get(key);
      if (!before || !sameNodes(before.nodes, placement.nodes)) changed.add(key);
    }
    for (const key of previous.placements.keys()) if (!next.placements.has(key)) changed.add(key);
    return changed;
  }

  /** A device as the last run saw it. */
  node(name: string): SchedulableNode | undefined {
    return this.result?.state.nodes.get(name);
  }

  placement(key: string): FunctionPlacement | undefined {
    return this.result?.placements.get(key);
  }

  /** When a Replicas grace period next expires (reschedule then), if ever. */
  get nextWakeAt(): number | undefined {
    return this.result?.nextWakeAt;
  }

  get removals(): ScheduleResult['removals'] {
    return this.result?.removals ?? [];
  }
}

/**
 * A function reconcile upserts its function every time; when it is exactly what the book holds,
 * no device changed and no function waits on the clock (watched: short, or a replica on an
 * offline device), a run would give the same result: skip it, it costs O(devices) (ADR 0038).
 */
function nothingNew(previous: ScheduleResult, changes: SchedulerChanges): boolean {
  const { state } = previous;
  return (
    state.watched.size === 0 &&
    (changes.upsertNodes ?? []).length === 0 &&
    (changes.removeNodes ?? []).length === 0 &&
    (changes.removeFunctions ?? []).length === 0 &&
    (changes.upsertFunctions ?? []).every((f) => jsonEqual(state.functions.get(f.key), f))
  );
}

function sameNodes(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((n, i) => n === b[i]);
}
