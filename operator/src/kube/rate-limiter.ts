// SPDX-License-Identifier: Apache-2.0
// Requeue rate limiters, modelled on client-go's workqueue rate limiters. The default is the one
// controller-runtime uses: the slower of a per-key exponential backoff (5 ms doubling to 1000 s)
// and a global token bucket (10 per second, burst 100), so one broken object backs off on its own
// while a mass failure cannot hammer the API server.
import { systemClock, type Clock } from './clock.ts';

export interface RateLimiter {
  /** How long to wait before `key` may be processed again; records one more failure. */
  when(key: string): number;
  /** Clears the failure history of `key` (after it reconciled cleanly). */
  forget(key: string): void;
  /** How many times `key` has been requeued since it was last forgotten. */
  numRequeues(key: string): number;
}

/** base · 2^failures, capped at max (client-go ItemExponentialFailureRateLimiter). */
export class ItemExponentialRateLimiter implements RateLimiter {
  readonly #failures = new Map<string, number>();
  readonly #baseMs: number;
  readonly #maxMs: number;

  constructor(baseMs = 5, maxMs = 1_000_000) {
    if (!(baseMs > 0) || !(maxMs >= baseMs)) {
      throw new Error(`invalid exponential backoff: base ${baseMs} ms, max ${maxMs} ms`);
    }
    this.#baseMs = baseMs;
    this.#maxMs = maxMs;
  }

  when(key: string): number {
    const failures = this.#failures.get(key) ?? 0;
    this.#failures.set(key, failures + 1);
    // 2^failures overflows to Infinity long after it passed max, so min() still caps it.
    return Math.min(this.#baseMs * 2 ** failures, this.#maxMs);
  }

  forget(key: string): void {
    this.#failures.delete(key);
  }

  numRequeues(key: string): number {
    return this.#failures.get(key) ?? 0;
  }
}

/**
 * A token bucket shared by all keys (client-go BucketRateLimiter over golang.org/x/time/rate).
 * `when` reserves a token, possibly one in the future, and returns how long until it is valid.
 */
export class TokenBucketRateLimiter implements RateLimiter {
  readonly #ratePerMs: number;
  readonly #burst: number;
  readonly #clock: Clock;
  #tokens: number;
  #last: number;

  constructor(qps = 10, burst = 100, clock: Clock = systemClock) {
    if (!(qps > 0) || !(burst >= 1)) throw new Error(`invalid token bucket: ${qps} qps, burst ${burst}`);
    this.#ratePerMs = qps / 1000;
    this.#burst = burst;
    this.#clock = clock;
    this.#tokens = burst;
    this.#last = clock.now();
  }

  when(): number {
    const now = this.#clock.now();
    // Reservations may push `last` into the future; never refill for time that has not passed.
    if (now > this.#last) {
      this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#last) * this.#ratePerMs);
      this.#last = now;
    }
    this.#tokens -= 1;
    return this.#tokens >= 0 ? 0 : Math.ceil(-this.#tokens / this.#ratePerMs);
  }

  /**
   * Takes a token if one is there now and returns 0; otherwise takes nothing and returns how long
   * until one will be. For callers that requeue instead of waiting (a worker never sleeps on it).
   */
  tryTake(): number {
    const wait = this.when();
    if (wait === 0) return 0;
    this.#tokens += 1;
    return wait;
  }

  forget(): void {
    // The bucket is global: a key's success does not give tokens back.
  }

  numRequeues(): number {
    return 0;
  }
}

/**
 * A token bucket for reconcilers that come back instead of sleeping (a work queue's requeueAfter):
 * `take(key)` is 0 when `key` may write now; otherwise it reserves the next free token for `key`
 * and says how long until it is valid, and the key's next `take` after that time uses it. Without
 * the reservation every waiting key would retry at the same moment for the same single token.
 */
export class KeyedTokenBucket {
  readonly #bucket: TokenBucketRateLimiter;
  readonly #clock: Clock;
  /** key → when its reserved token is valid (ms). */
  readonly #reserved = new Map<string, number>();

  constructor(qps: number, burst: number, clock: Clock = systemClock) {
    this.#bucket = new TokenBucketRateLimiter(qps, burst, clock);
    this.#clock = clock;
  }

  take(key: string): number {
    const now = this.#clock.now();
    const at = this.#reserved.get(key);
    if (at !== undefined) {
      if (now < at) return at - now;
      this.#reserved.delete(key);
      return 0;
    }
    const wait = this.#bucket.when();
    if (wait > 0) this.#reserved.set(key, now + wait);
    return wait;
  }
}

/** The slowest answer of several limiters (client-go MaxOfRateLimiter). */
export class MaxOfRateLimiter implements RateLimiter {
  readonly #limiters: readonly RateLimiter[];

  constructor(...limiters: RateLimiter[]) {
    if (limiters.length === 0) throw new Error('MaxOfRateLimiter needs at least one limiter');
    this.#limiters = limiters;
  }

  when(key: string): number {
    // Every limiter must see the call (the exponential one counts failures), so no short-circuit.
    return Math.max(...this.#limiters.map((l) => l.when(key)));
  }

  forget(key: string): void {
    for (const l of this.#limiters) l.forget(key);
  }

  numRequeues(key: string): number {
    return Math.max(...this.#limiters.map((l) => l.numRequeues(key)));
  }
}

/** controller-runtime's default: exponential 5 ms → 1000 s per key, and 10 qps / burst 100 overall. */
export function defaultControllerRateLimiter(clock: Clock = systemClock): RateLimiter {
  return new MaxOfRateLimiter(
    new ItemExponentialRateLimiter(5, 1_000_000),
    new TokenBucketRateLimiter(10, 100, clock),
  );
}
