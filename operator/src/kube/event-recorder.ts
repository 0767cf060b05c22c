// SPDX-License-Identifier: Apache-2.0
// A Kubernetes Event recorder (events.k8s.io/v1) that aggregates repeats, so a flapping device
// produces one Event with a growing series count instead of a flood of API writes.
//
// - The first occurrence of (object, type, reason, action, note) creates an Event at once.
// - Repeats within `windowMs` of the previous one only bump a local counter; a flush every
//   `flushMs` patches `series.count`/`series.lastObservedTime` once per aggregated Event.
// - Each object also has a token bucket for *new* Events (client-go's spam filter: burst 25,
//   one more per 5 minutes), which bounds notes that differ every time (e.g. with timestamps).
// - One bucket across all objects bounds new Events as a whole (burst 200, 20 a second): a storm
//   over 10,000 devices is not 10,000 Event writes competing with the fleet's own (ADR 0038).
//   client-go bounds the same storm with a 1,000-deep queue that drops; dropped ones are counted.
// - Recording never throws and never blocks a reconcile: writes happen in the background and
//   failures go to `onError`. close() flushes and waits for them.
import {
  PatchStrategy,
  V1MicroTime,
  setHeaderOptions,
  type EventsV1Api,
  type EventsV1Event,
} from '@kubernetes/client-node';
import { systemClock, type Clock, type TimerHandle } from './clock.ts';
import { isNotFound } from './errors.ts';
import { TokenBucketRateLimiter } from './rate-limiter.ts';

export type EventType = 'Normal' | 'Warning';

/** The object an Event is about (events.k8s.io `regarding`). */
export interface EventRegarding {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  /** Undefined for cluster-scoped objects; their Events go to the `default` namespace. */
  readonly namespace?: string | undefined;
  readonly uid?: string | undefined;
}

export interface EventInput {
  readonly regarding: EventRegarding;
  readonly type: EventType;
  /** CamelCase, why the action was taken, e.g. `DeviceOffline`. */
  readonly reason: string;
  /** CamelCase, what was done or failed, e.g. `Schedule`. */
  readonly action: string;
  /** Human-readable, at most 1 KiB. */
  readonly note: string;
}

export type EventsClient = Pick<EventsV1Api, 'createNamespacedEvent' | 'patchNamespacedEvent'>;

export interface EventRecorderOptions {
  /** e.g. `wasmfleet.io/operator`. */
  readonly reportingController: string;
  /** This replica, e.g. the pod name. */
  readonly reportingInstance: string;
  /** Repeats closer together than this join one Event. Default 10 min. */
  readonly windowMs?: number;
  /** How often aggregated counts are written. Default 30 s. */
  readonly flushMs?: number;
  /** New Events per object allowed at once. Default 25. */
  readonly burst?: number;
  /** One more new Event per object after this long. Default 5 min. */
  readonly refillMs?: number;
  /** New Events across all objects allowed at once, and per second after that. Default 200, 20. */
  readonly globalBurst?: number;
  readonly globalPerSecond?: number;
  /** Aggregation entries kept; the least recently seen go first. Default 4096. */
  readonly maxEntries?: number;
  readonly clock?: Clock;
  readonly onError?: (error: unknown, event: EventInput) => void;
}

export interface EventRecorderStats {
  readonly created: number;
  readonly patched: number;
  /** Occurrences folded into an existing Event. */
  readonly aggregated: number;
  /** Occurrences dropped by the per-object spam filter or the bound across all objects. */
  readonly dropped: number;
}

interface Entry {
  readonly input: EventInput;
  readonly namespace: string;
  name: string | undefined;
  count: number;
  written: number;
  lastAt: number;
  creating: boolean;
}

interface Bucket {
  tokens: number;
  last: number;
}

const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export class EventRecorder {
  readonly #api: EventsClient;
  readonly #opts: Required<Omit<EventRecorderOptions, 'onError' | 'globalBurst' | 'globalPerSecond'>>;
  readonly #global: TokenBucketRateLimiter;
  readonly #onError: (error: unknown, event: EventInput) => void;
  readonly #entries = new Map<string, Entry>();
  readonly #buckets = new Map<string, Bucket>();
  readonly #pending = new Set<Promise<void>>();
  #flushTimer: TimerHandle | undefined;
  #sequence = 0;
  #closed = false;
  #stats = { created: 0, patched: 0, aggregated: 0, dropped: 0 };

  constructor(api: EventsClient, options: EventRecorderOptions) {
    this.#api = api;
    this.#opts = {
      reportingController: options.reportingController,
      reportingInstance: options.reportingInstance,
      windowMs: options.windowMs ?? 10 * 60_000,
      flushMs: options.flushMs ?? 30_000,
      burst: options.burst ?? 25,
      refillMs: options.refillMs ?? 5 * 60_000,
      maxEntries: options.maxEntries ?? 4096,
      clock: options.clock ?? systemClock,
    };
    this.#onError = options.onError ?? (() => undefined);
    this.#global = new TokenBucketRateLimiter(
      options.globalPerSecond ?? 20,
      options.globalBurst ?? 200,
      this.#opts.clock,
    );
  }

  get stats(): EventRecorderStats {
    return { ...this.#stats };
  }

  /** Records one occurrence. Never throws; the API write happens in the background. */
  record(input: EventInput): void {
    if (this.#closed) return;
    const now = this.#opts.clock.now();
    const key = JSON.stringify([
      input.regarding.apiVersion,
      input.regarding.kind,
      input.regarding.namespace ?? '',
      input.regarding.name,
      input.regarding.uid ?? '',
      input.type,
      input.reason,
      input.action,
      input.note,
    ]);
    const entry = this.#entries.get(key);
    if (entry && now - entry.lastAt <= this.#opts.windowMs) {
      entry.count += 1;
      entry.lastAt = now;
      // Re-insert so Map order is least-recently-seen first, for eviction.
      this.#entries.delete(key);
      this.#entries.set(key, entry);
      this.#stats.aggregated += 1;
      this.#scheduleFlush();
      return;
    }
    if (!this.#takeToken(input.regarding, now) || this.#global.tryTake() > 0) {
      this.#stats.dropped += 1;
      return;
    }
    const fresh: Entry = {
      input,
      namespace: input.regarding.namespace ?? 'default',
      name: undefined,
      count: 1,
      written: 0,
      lastAt: now,
      creating: true,
    };
    this.#entries.delete(key);
    this.#entries.set(key, fresh);
    this.#evict();
    this.#track(this.#create(fresh, now));
  }

  /** Writes every pending aggregated count now. */
  async flush(): Promise<void> {
    if (this.#flushTimer !== undefined) this.#opts.clock.clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    const now = this.#opts.clock.now();
    for (const [key, entry] of this.#entries) {
      if (!entry.creating && entry.name !== undefined && entry.count > entry.written) {
        this.#track(this.#patch(entry));
      } else if (!entry.creating && now - entry.lastAt > this.#opts.windowMs) {
        this.#entries.delete(key);
      }
    }
    await this.#settle();
  }

  /** Flushes, waits for in-flight writes, and stops recording. */
  async close(): Promise<void> {
    await this.flush();
    this.#closed = true;
    // A create that was still in flight may have left a count to write.
    await this.flush();
  }

  #takeToken(regarding: EventRegarding, now: number): boolean {
    const key = `${regarding.kind}/${regarding.namespace ?? ''}/${regarding.name}`;
    const bucket = this.#buckets.get(key) ?? { tokens: this.#opts.burst, last: now };
    bucket.tokens = Math.min(this.#opts.burst, bucket.tokens + (now - bucket.last) / this.#opts.refillMs);
    bucket.last = now;
    this.#buckets.delete(key);
    this.#buckets.set(key, bucket);
    if (this.#buckets.size > this.#opts.maxEntries) {
      const oldest = this.#buckets.keys().next().value;
      if (oldest !== undefined) this.#buckets.delete(oldest);
    }
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  #evict(): void {
    while (this.#entries.size > this.#opts.maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) return;
      this.#entries.delete(oldest);
    }
  }

  #scheduleFlush(): void {
    if (this.#flushTimer !== undefined) return;
    this.#flushTimer = this.#opts.clock.setTimeout(() => {
      this.#flushTimer = undefined;
      void this.flush();
    }, this.#opts.flushMs);
  }

  #eventName(regarding: EventRegarding, now: number): string {
    // client-go names Events `<object>.<unix nanos in hex>`; a sequence number keeps two
    // Events recorded in the same millisecond apart.
    this.#sequence = (this.#sequence + 1) % 1_000_000;
    const suffix = (BigInt(now) * 1_000_000n + BigInt(this.#sequence)).toString(16);
    return `${regarding.name.slice(0, 253 - suffix.length - 1)}.${suffix}`;
  }

  async #create(entry: Entry, now: number): Promise<void> {
    const { regarding } = entry.input;
    const name = this.#eventName(regarding, now);
    const body: EventsV1Event = {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name, namespace: entry.namespace },
      // Must be a V1MicroTime: a plain Date serialises with milliseconds, which the API
      // server's MicroTime parser rejects.
      eventTime: new V1MicroTime(now),
      reportingController: this.#opts.reportingController,
      reportingInstance: this.#opts.reportingInstance,
      action: entry.input.action,
      reason: entry.input.reason,
      note: truncate(entry.input.note, 1024),
      type: entry.input.type,
      regarding: {
        apiVersion: regarding.apiVersion,
        kind: regarding.kind,
        name: regarding.name,
        ...(regarding.namespace ? { namespace: regarding.namespace } : {}),
        ...(regarding.uid ? { uid: regarding.uid } : {}),
      },
    };
    try {
      await this.#api.createNamespacedEvent({ namespace: entry.namespace, body });
      entry.name = name;
      entry.written = 1;
      this.#stats.created += 1;
      if (entry.count > 1) this.#scheduleFlush();
    } catch (error) {
      this.#onError(
        new Error(`creating Event ${entry.input.reason} for ${describe(regarding)} failed`, { cause: error }),
        entry.input,
      );
      this.#forget(entry);
    } finally {
      entry.creating = false;
    }
  }

  async #patch(entry: Entry): Promise<void> {
    const name = entry.name;
    if (name === undefined) return;
    const count = entry.count;
    const body = { series: { count, lastObservedTime: new V1MicroTime(entry.lastAt) } };
    try {
      await this.#api.patchNamespacedEvent({ name, namespace: entry.namespace, body }, MERGE_PATCH);
      entry.written = Math.max(entry.written, count);
      this.#stats.patched += 1;
    } catch (error) {
      // Events expire (one hour by default); the next occurrence starts a new one.
      if (!isNotFound(error)) {
        this.#onError(
          new Error(`updating Event ${name} in ${entry.namespace} failed`, { cause: error }),
          entry.input,
        );
      }
      this.#forget(entry);
    }
  }

  #forget(entry: Entry): void {
    for (const [key, value] of this.#entries) {
      if (value === entry) {
        this.#entries.delete(key);
        return;
      }
    }
  }

  #track(work: Promise<void>): void {
    this.#pending.add(work);
    void work.finally(() => this.#pending.delete(work));
  }

  async #settle(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
  }
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 3)}...`;
}

function describe(r: EventRegarding): string {
  return `${r.kind} ${r.namespace ? `${r.namespace}/` : ''}${r.name}`;
}

/** The `regarding` of an object read through a typed client (whose items lack kind/apiVersion). */
export function regardingOf(
  obj: { metadata?: { name?: string; namespace?: string; uid?: string } },
  type: { apiVersion: string; kind: string },
): EventRegarding {
  const name = obj.metadata?.name;
  if (!name) throw new Error(`cannot record an Event for a ${type.kind} without a name`);
  return { ...type, name, namespace: obj.metadata?.namespace, uid: obj.metadata?.uid };
}
