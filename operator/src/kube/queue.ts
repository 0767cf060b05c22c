// SPDX-License-Identifier: Apache-2.0
// A keyed, de-duplicating, rate-limited work queue with client-go's semantics
// (k8s.io/client-go/util/workqueue):
// - a key added while it waits is queued once (the `dirty` set);
// - a key added while a worker processes it is not handed to a second worker: it is queued again
//   when the first worker calls done(), so one key is never reconciled twice at the same time;
// - addAfter() holds a key back (keeping the earliest deadline when added several times);
// - addRateLimited() backs a key off per the rate limiter; forget() clears its history.
// Workers pull with get() and must call done(); concurrency is the number of pulling workers
// (see reconcileLoop).
import { systemClock, type Clock, type TimerHandle } from './clock.ts';
import { defaultControllerRateLimiter, type RateLimiter } from './rate-limiter.ts';

/** Optional observers, e.g. Prometheus metrics (see OperatorMetrics.queueHooks). */
export interface QueueHooks {
  depth?(queue: string, depth: number): void;
  added?(queue: string): void;
  retried?(queue: string): void;
}

export interface WorkQueueOptions {
  /** Names the queue in metrics; usually the controller name. */
  readonly name?: string;
  readonly clock?: Clock;
  readonly rateLimiter?: RateLimiter;
  readonly hooks?: QueueHooks;
}

interface Delayed {
  readonly readyAt: number;
  readonly timer: TimerHandle;
}

export class WorkQueue {
  readonly name: string;
  readonly #clock: Clock;
  readonly #limiter: RateLimiter;
  readonly #hooks: QueueHooks;
  /**
   * Keys ready to hand out, in order, from #head on (an index instead of shift() keeps taking a
   * key O(1) with thousands queued). Every key here is also in #dirty.
   */
  #queue: string[] = [];
  #head = 0;
  /** Keys that need processing (waiting in #queue, or re-added while processing). */
  readonly #dirty = new Set<string>();
  /** Keys a worker holds right now. */
  readonly #processing = new Set<string>();
  readonly #delayed = new Map<string, Delayed>();
  readonly #waiters: ((key: string | undefined) => void)[] = [];
  #shuttingDown = false;
  #drained: (() => void) | undefined;

  constructor(options: WorkQueueOptions = {}) {
    this.name = options.name ?? 'default';
    this.#clock = options.clock ?? systemClock;
    this.#limiter = options.rateLimiter ?? defaultControllerRateLimiter(this.#clock);
    this.#hooks = options.hooks ?? {};
  }

  /** Marks `key` as needing processing now. No-op once shutting down. */
  add(key: string): void {
    if (this.#shuttingDown) return;
    this.#hooks.added?.(this.name);
    if (this.#dirty.has(key)) return;
    this.#dirty.add(key);
    // done() will requeue it; handing it out now would run two reconciles of one key at once.
    if (this.#processing.has(key)) return;
    this.#enqueue(key);
  }

  /** Adds `key` after `ms`. A key already waiting keeps whichever deadline comes first. */
  addAfter(key: string, ms: number): void {
    if (this.#shuttingDown) return;
    if (!(ms > 0)) {
      this.add(key);
      return;
    }
    const readyAt = this.#clock.now() + ms;
    const existing = this.#delayed.get(key);
    if (existing) {
      if (existing.readyAt <= readyAt) return;
      this.#clock.clearTimeout(existing.timer);
    }
    const timer = this.#clock.setTimeout(() => {
      this.#delayed.delete(key);
      this.add(key);
    }, ms);
    this.#delayed.set(key, { readyAt, timer });
  }

  /** Requeues `key` after the rate limiter's delay (exponential per key, bucketed overall). */
  addRateLimited(key: string): void {
    if (this.#shuttingDown) return;
    this.#hooks.retried?.(this.name);
    this.addAfter(key, this.#limiter.when(key));
  }

  /** Resets `key`'s backoff; call after a clean reconcile. Does not dequeue it. */
  forget(key: string): void {
    this.#limiter.forget(key);
  }

  numRequeues(key: string): number {
    return this.#limiter.numRequeues(key);
  }

  /** Keys ready to be handed out (not counting delayed or in-flight ones). */
  get length(): number {
    return this.#queue.length - this.#head;
  }

  /** Keys a worker holds right now. */
  get inFlight(): number {
    return this.#processing.size;
  }

  /** Keys waiting on addAfter/addRateLimited. */
  get delayedCount(): number {
    return this.#delayed.size;
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /**
   * The next key to process, waiting until there is one. Undefined means the queue shut down
   * and the worker should exit. The caller owns the key until it calls done(key).
   */
  get(): Promise<string | undefined> {
    if (this.#shuttingDown) return Promise.resolve(undefined);
    const key = this.#take();
    if (key !== undefined) return Promise.resolve(key);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Releases `key`; if it was added again meanwhile, it goes back in the queue. */
  done(key: string): void {
    if (!this.#processing.delete(key)) return;
    if (this.#dirty.has(key) && !this.#shuttingDown) this.#enqueue(key);
    if (this.#shuttingDown && this.#processing.size === 0) this.#drained?.();
  }

  /**
   * Stops the queue: no more adds, pending delays are cancelled, waiting workers get undefined,
   * and keys not yet started are dropped (state is level-triggered: the next leader or the next
   * start lists everything again). Resolves once every in-flight key is done(), or right away
   * with `drain: false`.
   */
  shutdown({ drain = true }: { drain?: boolean } = {}): Promise<void> {
    if (!this.#shuttingDown) {
      this.#shuttingDown = true;
      for (const { timer } of this.#delayed.values()) this.#clock.clearTimeout(timer);
      this.#delayed.clear();
      this.#queue = [];
      this.#head = 0;
      this.#dirty.clear();
      this.#hooks.depth?.(this.name, 0);
      for (const waiter of this.#waiters.splice(0)) waiter(undefined);
    }
    if (!drain || this.#processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const previous = this.#drained;
      this.#drained = () => {
        previous?.();
        resolve();
      };
    });
  }

  #enqueue(key: string): void {
    const waiter = this.#waiters.shift();
    if (waiter) {
      // Straight to an idle worker; it never sits in #queue.
      this.#dirty.delete(key);
      this.#processing.add(key);
      waiter(key);
      return;
    }
    this.#queue.push(key);
    this.#hooks.depth?.(this.name, this.length);
  }

  #take(): string | undefined {
    if (this.#head >= this.#queue.length) return undefined;
    const key = this.#queue[this.#head] as string;
    this.#head += 1;
    if (this.#head >= 1024 && this.#head * 2 >= this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    this.#dirty.delete(key);
    this.#processing.add(key);
    this.#hooks.depth?.(this.name, this.length);
    return key;
  }
}
