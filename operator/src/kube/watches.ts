// SPDX-License-Identifier: Apache-2.0
// Watches as data, like controller-runtime's builder (`For`, `Owns`, `Watches` with
// `EnqueueRequestsFromMapFunc`): each entry names a watched kind, its informer, and how one of
// its events maps to keys of the controllers' work queues. The operator's table of them
// (operator/src/wiring/fleet-watches.ts) then reads as the list of what wakes which controller,
// and one function subscribes them all (docs/adr/0036).
import type { KubernetesObject } from '@kubernetes/client-node';
import type { InformerEventType, InformerHandler } from './informer.ts';
import type { WorkQueue } from './queue.ts';

/** Keys for some of the queues, by queue name: what one event wakes. */
export type Wakes<Q extends string> = Partial<Readonly<Record<Q, Iterable<string>>>>;

/** One watched kind (the informer is anything with `on`, so a test can pass a stand-in). */
export interface WatchSpec<Q extends string, T extends KubernetesObject> {
  /** The watched kind, for readers of the table: `EdgeNode`. */
  readonly kind: string;
  readonly informer: { on(handler: InformerHandler<T>): () => void };
  /** What an event of this kind wakes; pure but for the books it keeps up to date. */
  readonly wakes: (type: InformerEventType, obj: T) => Wakes<Q>;
}

/** A watch whose object type is closed over, so watches of different kinds share one table. */
export interface Watch<Q extends string> {
  readonly kind: string;
  /** Subscribes to the informer; returns the unsubscribe. */
  subscribe(queues: Readonly<Record<Q, Pick<WorkQueue, 'add'>>>): () => void;
}

export function watch<Q extends string, T extends KubernetesObject>(spec: WatchSpec<Q, T>): Watch<Q> {
  return {
    kind: spec.kind,
    subscribe: (queues) => spec.informer.on((type, obj) => enqueue(queues, spec.wakes(type, obj))),
  };
}

/** Adds every key of `wakes` to its queue. */
export function enqueue<Q extends string>(
  queues: Readonly<Record<Q, Pick<WorkQueue, 'add'>>>,
  wakes: Wakes<Q>,
): void {
  for (const name of Object.keys(wakes) as Q[]) {
    for (const key of wakes[name] ?? []) queues[name].add(key);
  }
}

/** Subscribes every watch of a table; returns one function that unsubscribes them all. */
export function startWatches<Q extends string>(
  queues: Readonly<Record<Q, Pick<WorkQueue, 'add'>>>,
  watches: readonly Watch<Q>[],
): () => void {
  const stops = watches.map((w) => w.subscribe(queues));
  return () => {
    for (const stop of stops) stop();
  };
}
