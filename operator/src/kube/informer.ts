// SPDX-License-Identifier: Apache-2.0
// A self-healing informer over client-node's ListWatch (what makeInformer builds).
//
// ListWatch lists, then watches from the list's resourceVersion, and relists by itself after a
// 410 Gone or a client-side inactivity timeout. On any other error (connection reset, 5xx, 403,
// a failed list) it reports `error` and stops for good. This wrapper adds what client-go's
// reflector and shared informer give a controller:
// - restart after an error with exponential backoff and jitter, resuming from the last
//   resourceVersion (a stale one gets 410 and ListWatch relists);
// - hasSynced()/waitForCacheSync(): true once the first full list is in the cache;
// - a typed cache, get(namespace, name)/list(), fed by the same callbacks as the handlers, so
//   handlers receive (type, obj, oldObj) — ListWatch itself does not keep the old object;
// - periodic resync: every cached object is replayed as a `resync` event so level-triggered
//   reconcilers revisit everything even when no event was missed;
// - watch bookmarks, so quiet collections keep a fresh resourceVersion and resume without relist.
// - managedFields stripped before anything caches an object (client-go's
//   TransformStripManagedFields): the operator never reads them, and they were half of what a
//   cached EdgeNode cost (ADR 0045).
import { ListWatch, Watch, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { jittered, systemClock, type Clock, type TimerHandle } from './clock.ts';
import { describeError } from './errors.ts';
import { keyOf, objectKey } from './keys.ts';
import type { ResourceSource } from './sources.ts';

export type InformerEventType = 'add' | 'update' | 'delete' | 'resync';

/** For `delete`, `obj` is the last state seen; for `resync`, `oldObj` is `obj`. */
export type InformerHandler<T extends KubernetesObject> = (
  type: InformerEventType,
  obj: T,
  oldObj: T | undefined,
) => void;

export interface InformerOptions {
  /** Replay every cached object as `resync` this often (ms); 0 disables. Default 10 min. */
  readonly resyncMs?: number;
  /** First restart delay after an error (ms). Default 500. */
  readonly restartBaseMs?: number;
  /** Longest restart delay (ms). Default 30 s, like ListWatch's own reconnect cap. */
  readonly restartMaxMs?: number;
  /** Extra random delay, as a fraction of the delay. Default 0.5. */
  readonly jitter?: number;
  readonly clock?: Clock;
  /** Each error that stopped the watch, with the restart delay chosen. */
  readonly onError?: (error: unknown, restartInMs: number) => void;
}

export interface InformerStats {
  /** Times the watch was restarted after an error. */
  readonly restarts: number;
  /** Watch connections opened (including ListWatch's own reconnects). */
  readonly connections: number;
  readonly lastError: string | undefined;
}

/** A Watch that tells the informer when it connects and when events flow. */
class ObservedWatch extends Watch {
  readonly #onConnect: () => void;
  readonly #onEvent: () => void;

  constructor(kc: KubeConfig, onConnect: () => void, onEvent: () => void) {
    super(kc);
    this.#onConnect = onConnect;
    this.#onEvent = onEvent;
  }

  override watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    // ListWatch opens a watch only after a successful list (or with a version it already
    // holds), so the first call means the cache holds a complete list.
    this.#onConnect();
    return super.watch(
      path,
      { ...queryParams, allowWatchBookmarks: true },
      (phase, apiObj, watchObj) => {
        this.#onEvent();
        stripManagedFields(apiObj);
        callback(phase, apiObj, watchObj);
      },
      done,
    );
  }
}

/**
 * Drops `metadata.managedFields` in place, before ListWatch and the informer cache the object
 * (both hold the same one). Server-side apply's bookkeeping is about as big as the rest of a
 * small object, and nothing in the operator reads it; a later update without it keeps the
 * server's copy.
 */
export function stripManagedFields(obj: unknown): void {
  const metadata = (obj as { metadata?: { managedFields?: unknown } } | null)?.metadata;
  if (metadata?.managedFields !== undefined) delete metadata.managedFields;
}

export class Informer<T extends KubernetesObject> {
  readonly source: ResourceSource<T>;
  readonly #listWatch: ListWatch<T>;
  readonly #cache = new Map<string, T>();
  readonly #handlers = new Set<InformerHandler<T>>();
  readonly #syncWaiters = new Set<() => void>();
  readonly #clock: Clock;
  readonly #resyncMs: number;
  readonly #baseMs: number;
  readonly #maxMs: number;
  readonly #jitter: number;
  readonly #onError: ((error: unknown, restartInMs: number) => void) | undefined;
  #running = false;
  #synced = false;
  #failures = 0;
  #restarts = 0;
  #connections = 0;
  #lastError: string | undefined;
  #restartTimer: TimerHandle | undefined;
  #resyncTimer: TimerHandle | undefined;

  constructor(kc: KubeConfig, source: ResourceSource<T>, options: InformerOptions = {}) {
    this.source = source;
    this.#clock = options.clock ?? systemClock;
    this.#resyncMs = options.resyncMs ?? 10 * 60_000;
    this.#baseMs = options.restartBaseMs ?? 500;
    this.#maxMs = options.restartMaxMs ?? 30_000;
    this.#jitter = options.jitter ?? 0.5;
    this.#onError = options.onError;
    const watch = new ObservedWatch(
      kc,
      () => this.#connected(),
      () => (this.#failures = 0),
    );
    this.#listWatch = new ListWatch<T>(
      source.path,
      watch,
      async () => {
        const list = await source.list();
        for (const item of list.items) stripManagedFields(item);
        return list;
      },
      false,
      source.labelSelector,
      source.fieldSelector,
    );
    this.#listWatch.on('add', (obj) => this.#apply('add', obj));
    this.#listWatch.on('update', (obj) => this.#apply('update', obj));
    this.#listWatch.on('delete', (obj) => this.#apply('delete', obj));
    this.#listWatch.on('error', (error: unknown) => this.#failed(error));
  }

  /** Adds a handler; returns a function that removes it. Add handlers before start(). */
  on(handler: InformerHandler<T>): () => void {
    this.#handlers.add(handler);
    return () => this.#handlers.delete(handler);
  }

  /** Starts listing and watching in the background; see waitForCacheSync(). */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#launch();
    this.#scheduleResync();
  }

  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    if (this.#restartTimer !== undefined) this.#clock.clearTimeout(this.#restartTimer);
    if (this.#resyncTimer !== undefined) this.#clock.clearTimeout(this.#resyncTimer);
    this.#restartTimer = undefined;
    this.#resyncTimer = undefined;
    await this.#listWatch.stop();
  }

  /** True once the first complete list has been loaded into the cache. */
  hasSynced(): boolean {
    return this.#synced;
  }

  /** Resolves when hasSynced(); rejects after `timeoutMs` with the last error as the cause. */
  waitForCacheSync(timeoutMs = 60_000): Promise<void> {
    if (this.#synced) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = (): void => {
        this.#clock.clearTimeout(timer);
        this.#syncWaiters.delete(done);
        resolve();
      };
      const timer = this.#clock.setTimeout(() => {
        this.#syncWaiters.delete(done);
        reject(
          new Error(`cache for ${this.source.description} did not sync within ${timeoutMs} ms`, {
            cause: this.#lastError,
          }),
        );
      }, timeoutMs);
      this.#syncWaiters.add(done);
    });
  }

  /** The cached object; `namespace` undefined for cluster-scoped kinds. */
  get(namespace: string | undefined, name: string): T | undefined {
    return this.#cache.get(keyOf(namespace, name));
  }

  getByKey(key: string): T | undefined {
    return this.#cache.get(key);
  }

  /** Cached objects, optionally only those in `namespace`. */
  list(namespace?: string): T[] {
    const all = [...this.#cache.values()];
    return namespace === undefined ? all : all.filter((o) => o.metadata?.namespace === namespace);
  }

  get stats(): InformerStats {
    return { restarts: this.#restarts, connections: this.#connections, lastError: this.#lastError };
  }

  #launch(): void {
    // ListWatch.start() never rejects for API errors (it reports them through `error`), but
    // guard anyway: a throw here must become a restart, not an unhandled rejection.
    this.#listWatch.start().catch((error: unknown) => this.#failed(error));
  }

  #connected(): void {
    this.#connections += 1;
    if (this.#synced) return;
    this.#synced = true;
    for (const waiter of [...this.#syncWaiters]) waiter();
  }

  #failed(error: unknown): void {
    this.#lastError = describeError(error);
    // stop() aborts the request, which ListWatch reports as an error: that one is expected.
    if (!this.#running || this.#restartTimer !== undefined) return;
    const delay = Math.round(
      jittered(Math.min(this.#baseMs * 2 ** this.#failures, this.#maxMs), this.#jitter),
    );
    this.#failures += 1;
    this.#onError?.(error, delay);
    this.#restartTimer = this.#clock.setTimeout(() => {
      this.#restartTimer = undefined;
      if (!this.#running) return;
      this.#restarts += 1;
      this.#launch();
    }, delay);
  }

  #apply(type: 'add' | 'update' | 'delete', obj: T): void {
    let key: string;
    try {
      key = objectKey(obj);
    } catch {
      return;
    }
    const old = this.#cache.get(key);
    if (type === 'delete') this.#cache.delete(key);
    else this.#cache.set(key, obj);
    // A relist reports objects it already had as updates; an "add" of a known key is one too.
    const effective = type === 'add' && old !== undefined ? 'update' : type;
    this.#emit(effective, obj, old);
  }

  #emit(type: InformerEventType, obj: T, old: T | undefined): void {
    for (const handler of [...this.#handlers]) {
      try {
        handler(type, obj, old);
      } catch (error) {
        // One broken handler must not starve the others or break the watch stream.
        this.#lastError = `handler failed on ${type}: ${describeError(error)}`;
      }
    }
  }

  #scheduleResync(): void {
    if (!(this.#resyncMs > 0) || !this.#running) return;
    this.#resyncTimer = this.#clock.setTimeout(
      () => {
        this.#resyncTimer = undefined;
        if (!this.#running) return;
        if (this.#synced) for (const obj of this.#cache.values()) this.#emit('resync', obj, obj);
        this.#scheduleResync();
      },
      Math.round(jittered(this.#resyncMs, 0.1)),
    );
  }
}

/** Starts nothing; waits until every informer has synced (client-go's WaitForCacheSync). */
export async function waitForCacheSync(
  informers: readonly { waitForCacheSync(timeoutMs?: number): Promise<void> }[],
  timeoutMs = 60_000,
): Promise<void> {
  await Promise.all(informers.map((i) => i.waitForCacheSync(timeoutMs)));
}
