// SPDX-License-Identifier: Apache-2.0
// Leader election on a coordination.k8s.io/v1 Lease, after client-go's leaderelection package.
//
// - Acquire: a replica takes the Lease when it does not exist, has no holder, or its holder has
//   not renewed for leaseDuration. "Not renewed" is judged on this replica's clock from when it
//   saw the record change (client-go's observedTime), so skew between replicas does not matter;
//   when the holder's own renewTime falls inside the interval in which we saw the change, it is
//   used as the (earlier, more precise) observation time.
// - Every write is a PUT carrying the resourceVersion it was computed from: two replicas racing
//   for an expired Lease cannot both win — the loser gets 409.
// - Renew every retryPeriod. A leader that cannot renew for renewDeadline (< leaseDuration)
//   steps down *before* anyone else may take over; a renew that finds another holder (someone
//   won a conflict) steps down at once. Stepping down aborts `signal` and calls onStoppedLeading:
//   the process must stop acting (the usual answer is to exit and let the Deployment restart it).
// - Fencing (check(), a WriteFence): every write of the operator asks first. A write is refused
//   once the last successful renew was *sent* more than renewDeadline ago by the monotonic
//   clock: timers fire late after SIGSTOP/SIGCONT, a long GC pause, a VM migration or CPU
//   starvation, and the renew loop may not have run yet, but the clock has kept counting. The
//   send time (not the reply's arrival) is when the Lease was last known to be ours. Since
//   renewDeadline < leaseDuration, no other replica can have acquired the Lease while check()
//   passes. A refused write wakes the renew loop, which renews only if the Lease is exactly as
//   this replica last wrote it (same resourceVersion: nobody held it meanwhile) and otherwise
//   steps down. See docs/adr/0014-leader-write-fencing.md.
// - stop() releases a held Lease (holder cleared), so a graceful restart hands over at once.
// - The API reads Lease times back as strings and writes them only as V1MicroTime (a plain Date
//   serialises with milliseconds, which the API server's MicroTime parser rejects).
import { V1MicroTime, type CoordinationV1Api, type V1Lease } from '@kubernetes/client-node';
import { performance } from 'node:perf_hooks';
import { jittered, sleep, systemClock, type Clock, type TimerHandle } from './clock.ts';
import { describeError, isConflict, isNotFound } from './errors.ts';
import { FencedError, type WriteFence } from './fence.ts';

export type LeaseClient = Pick<
  CoordinationV1Api,
  'readNamespacedLease' | 'createNamespacedLease' | 'replaceNamespacedLease'
>;

export interface LeaderElectionOptions {
  readonly namespace: string;
  readonly name: string;
  /** Unique per replica, e.g. the pod name plus a random suffix. */
  readonly identity: string;
  /** How long a Lease is honoured without renewal. Whole seconds on the wire. Default 15 s. */
  readonly leaseDurationMs?: number;
  /** A leader that has not renewed for this long steps down. Default 10 s. */
  readonly renewDeadlineMs?: number;
  /** Time between attempts to acquire or renew. Default 2 s. */
  readonly retryPeriodMs?: number;
  readonly clock?: Clock;
  /**
   * Monotonic milliseconds for the renew deadline and the write fence. Default: the given
   * clock's now() when a clock is given (tests), else performance.now().
   */
  readonly monotonic?: () => number;
  /** Leadership began; `signal` aborts when it ends. */
  readonly onStartedLeading?: (signal: AbortSignal) => void;
  /** Leadership ended (lost, deadline passed, or released by stop()). */
  readonly onStoppedLeading?: (reason: string) => void;
  /** The observed holder changed (undefined: nobody holds it). */
  readonly onNewLeader?: (identity: string | undefined) => void;
  /** Errors talking to the API server (the elector keeps trying). */
  readonly onError?: (error: unknown) => void;
}

interface Observed {
  holder: string | undefined;
  renewTime: string | undefined;
  durationMs: number;
  /** Local time from which the holder's lease is counted. */
  at: number;
}

function timeMs(value: unknown): number | undefined {
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'string') {
    const ms = Date.parse(value);
    return Number.isNaN(ms) ? undefined : ms;
  }
  return undefined;
}

function timeKey(value: unknown): string | undefined {
  const ms = timeMs(value);
  return ms === undefined ? undefined : String(value instanceof Date ? value.toISOString() : value);
}

export class LeaderElector implements WriteFence {
  readonly identity: string;
  readonly #api: LeaseClient;
  readonly #o: Required<
    Pick<
      LeaderElectionOptions,
      'namespace' | 'name' | 'leaseDurationMs' | 'renewDeadlineMs' | 'retryPeriodMs'
    >
  >;
  readonly #opts: LeaderElectionOptions;
  readonly #clock: Clock;
  readonly #stopping = new AbortController();
  #observed: Observed | undefined;
  #lastPoll: number | undefined;
  #leading: AbortController | undefined;
  readonly #monotonic: () => number;
  /** Monotonic time the last successful acquire/renew was sent. */
  #renewedAt = 0;
  #acquiredSentAt = 0;
  /** The Lease's resourceVersion after this replica's last successful write of it. */
  #ownVersion: string | undefined;
  /** Aborted by check() to renew at once instead of after the retry period. */
  #wake = new AbortController();
  #known = false;
  #running: Promise<void> | undefined;

  constructor(api: LeaseClient, options: LeaderElectionOptions) {
    const leaseDurationMs = options.leaseDurationMs ?? 15_000;
    const renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    const retryPeriodMs = options.retryPeriodMs ?? 2_000;
    if (!(leaseDurationMs > renewDeadlineMs)) {
      throw new Error(
        `leader election: leaseDuration (${leaseDurationMs} ms) must exceed renewDeadline (${renewDeadlineMs} ms)`,
      );
    }
    // client-go's rule: renewDeadline > JitterFactor(1.2) × retryPeriod, so a leader gets
    // more than one renewal attempt before it must give up.
    if (!(renewDeadlineMs > 1.2 * retryPeriodMs)) {
      throw new Error(
        `leader election: renewDeadline (${renewDeadlineMs} ms) must exceed 1.2 × retryPeriod (${retryPeriodMs} ms)`,
      );
    }
    if (leaseDurationMs % 1000 !== 0) {
      throw new Error(
        `leader election: leaseDuration must be whole seconds (Lease.spec.leaseDurationSeconds), got ${leaseDurationMs} ms`,
      );
    }
    if (!options.identity) throw new Error('leader election: identity must not be empty');
    this.identity = options.identity;
    this.#api = api;
    this.#opts = options;
    this.#o = {
      namespace: options.namespace,
      name: options.name,
      leaseDurationMs,
      renewDeadlineMs,
      retryPeriodMs,
    };
    this.#clock = options.clock ?? systemClock;
    const clock = options.clock;
    this.#monotonic = options.monotonic ?? (clock ? () => clock.now() : () => performance.now());
  }

  /**
   * The write fence: returns while this replica leads and renewed its Lease within renewDeadline;
   * otherwise throws FencedError naming `what` and wakes the renew loop (which renews if nobody
   * touched the Lease meanwhile, and steps down otherwise).
   */
  check(what: string): void {
    if (!this.isLeader()) throw new FencedError(`refused ${what}: this replica does not hold the Lease`);
    const sinceRenew = this.#monotonic() - this.#renewedAt;
    if (sinceRenew <= this.#o.renewDeadlineMs) return;
    const wake = this.#wake;
    this.#wake = new AbortController();
    wake.abort();
    throw new FencedError(
      `refused ${what}: the Lease was last renewed ${Math.round(sinceRenew)} ms ago, beyond the renew deadline of ${this.#o.renewDeadlineMs} ms`,
    );
  }

  isLeader(): boolean {
    return this.#leading !== undefined && !this.#leading.signal.aborted;
  }

  /** True once this replica has read the Lease at least once (for /readyz). */
  leaderKnown(): boolean {
    return this.#known;
  }

  /** The holder last observed, this replica included. */
  currentLeader(): string | undefined {
    return this.#observed?.holder;
  }

  /** Aborts when the current leadership ends; already aborted when not leading. */
  get signal(): AbortSignal {
    return this.#leading?.signal ?? AbortSignal.abort(new Error('not the leader'));
  }

  /**
   * Campaigns until leading, leads until the lease is lost or stop() is called, then resolves.
   * Like client-go, one run covers one leadership: after losing, exit (or call run() again).
   */
  run(): Promise<void> {
    this.#running ??= this.#campaign().finally(() => (this.#running = undefined));
    return this.#running;
  }

  /** Stops campaigning or leading and releases the Lease if held. */
  async stop(): Promise<void> {
    this.#stopping.abort(new Error('leader election stopped'));
    await this.#running;
  }

  async #campaign(): Promise<void> {
    const stop = this.#stopping.signal;
    // Acquire.
    while (!stop.aborted) {
      this.#acquiredSentAt = this.#monotonic();
      const acquired = await this.#attempt();
      if (acquired === true) break;
      await this.#pause(this.#untilNextTry());
    }
    if (stop.aborted) return;
    this.#renewedAt = this.#acquiredSentAt;
    const leading = new AbortController();
    this.#leading = leading;
    this.#opts.onStartedLeading?.(leading.signal);

    // Renew.
    let reason = 'stopped';
    // A function, not `stop.aborted` inline: TypeScript would keep its narrowing across awaits.
    const stopped = (): boolean => stop.aborted;
    while (!stopped()) {
      await this.#pause(jittered(this.#o.retryPeriodMs, 0.1), this.#wake.signal);
      if (stopped()) break;
      const sentAt = this.#monotonic();
      const deadline = this.#renewedAt + this.#o.renewDeadlineMs;
      if (sentAt > deadline) {
        // Woken after the deadline (frozen, starved) or by a refused write: the Lease may have
        // been someone else's meanwhile. Keep it only if it is exactly as we last wrote it.
        const kept = await this.#attempt({ onlyIfUnchanged: true });
        if (kept === true) {
          this.#renewedAt = sentAt;
          continue;
        }
        reason =
          kept === 'changed'
            ? `the Lease changed while this replica could not renew it for ${Math.round(sentAt - this.#renewedAt)} ms`
            : `could not renew within ${this.#o.renewDeadlineMs} ms`;
        break;
      }
      const renewed = await this.#withDeadline(this.#attempt(), deadline);
      if (renewed === true) {
        this.#renewedAt = sentAt;
        continue;
      }
      if (this.#observed?.holder !== undefined && this.#observed.holder !== this.identity) {
        reason = `lost the lease to ${this.#observed.holder}`;
        break;
      }
      if (this.#monotonic() >= deadline) {
        reason = `could not renew within ${this.#o.renewDeadlineMs} ms`;
        break;
      }
    }
    leading.abort(new Error(`leadership ended: ${reason}`));
    if (stopped()) await this.#release();
    this.#leading = undefined;
    this.#opts.onStoppedLeading?.(reason);
  }

  /** Wait until the next acquire attempt: a retry period, or sooner if the lease expires first. */
  #untilNextTry(): number {
    const period = jittered(this.#o.retryPeriodMs, 0.2);
    const o = this.#observed;
    if (!o?.holder) return period;
    const expiresIn = o.at + o.durationMs - this.#clock.now();
    return Math.max(10, Math.min(period, expiresIn + 5));
  }

  async #pause(ms: number, wake?: AbortSignal): Promise<void> {
    const signal = wake ? AbortSignal.any([this.#stopping.signal, wake]) : this.#stopping.signal;
    await sleep(this.#clock, ms, signal).catch(() => undefined);
  }

  /** Resolves to the attempt's result, or false once `deadline` passes first. */
  async #withDeadline(work: Promise<boolean | 'changed'>, deadline: number): Promise<boolean | 'changed'> {
    const remaining = deadline - this.#monotonic();
    if (remaining <= 0) return work;
    let timer: TimerHandle | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = this.#clock.setTimeout(() => resolve(false), remaining);
    });
    try {
      return await Promise.race([work, timeout]);
    } finally {
      if (timer !== undefined) this.#clock.clearTimeout(timer);
    }
  }

  /**
   * One try to acquire or renew; true when this replica holds the Lease afterwards. With
   * `onlyIfUnchanged`, renews only a Lease still at the resourceVersion of our own last write,
   * and answers 'changed' otherwise.
   */
  async #attempt({ onlyIfUnchanged = false } = {}): Promise<boolean | 'changed'> {
    const { namespace, name } = this.#o;
    const now = this.#clock.now();
    const previousPoll = this.#lastPoll;
    this.#lastPoll = now;
    try {
      let lease: V1Lease;
      try {
        lease = await this.#api.readNamespacedLease({ namespace, name });
      } catch (error) {
        if (!isNotFound(error)) throw error;
        if (onlyIfUnchanged) return 'changed';
        const created = await this.#api.createNamespacedLease({
          namespace,
          body: this.#leaseBody(undefined, now),
        });
        this.#ownVersion = created.metadata?.resourceVersion;
        this.#observe(this.identity, new V1MicroTime(now).toISOString(), now, undefined);
        return true;
      }
      const spec = lease.spec ?? {};
      this.#observe(spec.holderIdentity || undefined, timeKey(spec.renewTime), now, previousPoll, spec);
      if (onlyIfUnchanged && lease.metadata?.resourceVersion !== this.#ownVersion) return 'changed';
      const o = this.#observed;
      if (o?.holder && o.holder !== this.identity && o.at + o.durationMs > now) return false;
      const replaced = await this.#api.replaceNamespacedLease({
        namespace,
        name,
        body: this.#leaseBody(lease, now),
      });
      this.#ownVersion = replaced.metadata?.resourceVersion;
      this.#observe(this.identity, new V1MicroTime(now).toISOString(), now, undefined);
      return true;
    } catch (error) {
      // 409: another replica wrote first (created it, or updated it since our read).
      if (onlyIfUnchanged && isConflict(error)) return 'changed';
      if (!isConflict(error)) {
        this.#opts.onError?.(
          new Error(`leader election on Lease ${namespace}/${name}: ${describeError(error)}`, {
            cause: error,
          }),
        );
      }
      return false;
    }
  }

  #observe(
    holder: string | undefined,
    renewTime: string | undefined,
    now: number,
    previousPoll: number | undefined,
    spec?: V1Lease['spec'],
  ): void {
    this.#known = true;
    const o = this.#observed;
    const durationMs = (spec?.leaseDurationSeconds ?? this.#o.leaseDurationMs / 1000) * 1000;
    if (o && o.holder === holder && o.renewTime === renewTime) {
      o.durationMs = durationMs;
      return;
    }
    // The record changed somewhere in (previousPoll, now]. Trust the holder's own renewTime only
    // inside that window; otherwise count from now, which is never early.
    const stamped = timeMs(renewTime);
    const at =
      previousPoll !== undefined && stamped !== undefined && stamped > previousPoll && stamped <= now
        ? stamped
        : now;
    this.#observed = { holder, renewTime, durationMs, at };
    if (o?.holder !== holder) this.#opts.onNewLeader?.(holder);
  }

  #leaseBody(current: V1Lease | undefined, now: number): V1Lease {
    const spec = current?.spec ?? {};
    const mine = spec.holderIdentity === this.identity;
    const acquired = mine ? timeMs(spec.acquireTime) : undefined;
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name: this.#o.name,
        namespace: this.#o.namespace,
        // The optimistic-concurrency guard: the write fails with 409 if anyone wrote since.
        ...(current?.metadata?.resourceVersion ? { resourceVersion: current.metadata.resourceVersion } : {}),
      },
      spec: {
        holderIdentity: this.identity,
        leaseDurationSeconds: this.#o.leaseDurationMs / 1000,
        acquireTime: new V1MicroTime(acquired ?? now),
        renewTime: new V1MicroTime(now),
        leaseTransitions: (spec.leaseTransitions ?? 0) + (current && !mine ? 1 : 0),
      },
    };
  }

  /** Clears the holder so another replica can take over without waiting for expiry. */
  async #release(): Promise<void> {
    const { namespace, name } = this.#o;
    try {
      const lease = await this.#api.readNamespacedLease({ namespace, name });
      if (lease.spec?.holderIdentity !== this.identity) return;
      const now = this.#clock.now();
      await this.#api.replaceNamespacedLease({
        namespace,
        name,
        body: {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: {
            name,
            namespace,
            ...(lease.metadata?.resourceVersion ? { resourceVersion: lease.metadata.resourceVersion } : {}),
          },
          spec: {
            leaseDurationSeconds: 1,
            leaseTransitions: lease.spec.leaseTransitions ?? 0,
            acquireTime: new V1MicroTime(now),
            renewTime: new V1MicroTime(now),
          },
        },
      });
    } catch (error) {
      // Not fatal: the others take over after leaseDuration instead of right away.
      this.#opts.onError?.(new Error(`releasing Lease ${namespace}/${name} failed`, { cause: error }));
    }
  }
}
