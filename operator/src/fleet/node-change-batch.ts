// SPDX-License-Identifier: Apache-2.0
// EdgeNode changes reach the placement book in batches, not one reschedule per informer event.
// A reschedule copies the scheduler's node map and the label postings a node touches (every
// device shares its fleet label), so it costs O(devices); one per event made a registering fleet
// cost O(devices²) of the operator's one thread — 10,000 devices registering are 20,000 events
// (ADR 0038). A batch waits at least four times as long as the previous apply took (at most
// `maxDelayMs`), which keeps rescheduling under a fifth of the thread whatever the fleet's size.
// Changes that leave a device's schedulable view as it is (most status writes) are dropped.
import { jsonEqual, systemClock, type Clock, type TimerHandle } from '../kube/index.ts';
import type { SchedulableNode, SchedulerChanges } from '../scheduler/index.ts';

interface NodeChangeBatchOptions {
  /** Applies one batch; returns nothing the batch needs (the caller queues what changed). */
  readonly apply: (changes: Pick<SchedulerChanges, 'upsertNodes' | 'removeNodes'>) => void;
  /** The device as the placement book knows it now (to drop changes that change nothing). */
  readonly known: (name: string) => SchedulableNode | undefined;
  readonly minDelayMs?: number;
  readonly maxDelayMs?: number;
  readonly clock?: Clock;
}

export class NodeChangeBatch {
  readonly #o: NodeChangeBatchOptions;
  readonly #clock: Clock;
  readonly #upserts = new Map<string, SchedulableNode>();
  readonly #removes = new Set<string>();
  #timer: TimerHandle | undefined;
  #lastApplyMs = 0;

  constructor(options: NodeChangeBatchOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
  }

  /** Changes waiting for the next apply. */
  get pending(): number {
    return this.#upserts.size + this.#removes.size;
  }

  upsert(node: SchedulableNode): void {
    this.#removes.delete(node.name);
    if (!this.#upserts.has(node.name) && jsonEqual(this.#o.known(node.name), node)) return;
    this.#upserts.set(node.name, node);
    this.#schedule();
  }

  remove(name: string): void {
    this.#upserts.delete(name);
    this.#removes.add(name);
    this.#schedule();
  }

  /** Applies what is waiting now. */
  flush(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.pending === 0) return;
    const changes = { upsertNodes: [...this.#upserts.values()], removeNodes: [...this.#removes] };
    this.#upserts.clear();
    this.#removes.clear();
    const t0 = this.#clock.now();
    this.#o.apply(changes);
    this.#lastApplyMs = this.#clock.now() - t0;
  }

  close(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(): void {
    if (this.#timer !== undefined) return;
    const delay = Math.min(
      this.#o.maxDelayMs ?? 1000,
      Math.max(this.#o.minDelayMs ?? 10, this.#lastApplyMs * 4),
    );
    this.#timer = this.#clock.setTimeout(() => this.flush(), delay);
  }
}
