// SPDX-License-Identifier: Apache-2.0
// What wakes which controller, as a table (controller-runtime's `For` / `Watches`; ADR 0036):
// every watched kind, and how its events map to WasmFunction and EdgeNode queue keys. Device
// messages map to keys the same way in fleet-bridge-wiring.ts.
import type { KubernetesObject, V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import type { EdgeNode, WasmFunction } from '@wasmfleet/api';
import type { Cache } from '../controllers/typed-cache.ts';
import { NodeChangeBatch } from '../fleet/node-change-batch.ts';
import type { PlacementBook } from '../fleet/placement-book.ts';
import { schedulableNode } from '../fleet/scheduling-view.ts';
import { keyOf, watch, type InformerEventType, type Watch, type WorkQueue } from '../kube/index.ts';
import type { FleetInformers } from './fleet-informers.ts';

/** The controllers' work queues, by the name a watch table uses for them. */
export interface FleetQueues {
  readonly functions: WorkQueue;
  readonly nodes: WorkQueue;
}

export interface FleetWatchBooks {
  readonly functions: Cache<WasmFunction>;
  /** EdgeNode changes on their way to the placement book (see nodeChangeBatch). */
  readonly nodeChanges: NodeChangeBatch;
}

/**
 * EdgeNode changes re-place functions once per batch, not once per informer event (ADR 0038:
 * one reschedule per event made a registering fleet quadratic); the functions a batch moves are
 * woken when it is applied.
 */
export function nodeChangeBatch(
  placement: PlacementBook,
  functions: Pick<WorkQueue, 'add'>,
): NodeChangeBatch {
  return new NodeChangeBatch({
    apply: (changes) => {
      for (const key of placement.apply({ ...changes, now: Date.now() })) functions.add(key);
    },
    known: (name) => placement.node(name),
  });
}

/** A function's own key (`For(WasmFunction)`). */
function ownKey(obj: {
  readonly metadata?: { readonly namespace?: string; readonly name?: string };
}): string {
  return keyOf(obj.metadata?.namespace ?? 'default', obj.metadata?.name ?? '');
}

/** Hands an EdgeNode event to the batch that re-places functions (they are woken from there). */
function toPlacement(nodeChanges: NodeChangeBatch, type: InformerEventType, obj: KubernetesObject): void {
  const name = obj.metadata?.name ?? '';
  if (type === 'delete') nodeChanges.remove(name);
  else nodeChanges.upsert(schedulableNode(obj as unknown as EdgeNode));
}

/** The functions in the object's namespace that name this ConfigMap or Secret. */
function referencing(
  functions: Cache<WasmFunction>,
  kind: 'configMap' | 'secret',
  obj: V1ConfigMap | V1Secret,
): string[] {
  const ns = obj.metadata?.namespace;
  const name = obj.metadata?.name;
  const uses = ({ spec }: WasmFunction): boolean =>
    kind === 'configMap'
      ? spec.configMapRef?.name === name || spec.module.configMap?.name === name
      : spec.secretRef?.name === name || spec.module.pullSecretRef?.name === name;
  return functions.list(ns).filter(uses).map(ownKey);
}

/** Every watched kind and what its events wake. */
export function fleetWatches(informers: FleetInformers, books: FleetWatchBooks): Watch<keyof FleetQueues>[] {
  return [
    // For(WasmFunction): any change of a function reconciles it.
    watch({
      kind: 'WasmFunction',
      informer: informers.functions,
      wakes: (_type, fn) => ({ functions: [ownKey(fn)] }),
    }),
    // Watches(EdgeNode): a new device is reconciled (registration, identity); any change of a
    // device places again the functions it affects, batched (nodeChangeBatch wakes them).
    watch({
      kind: 'EdgeNode',
      informer: informers.nodes,
      wakes: (type, node) => {
        toPlacement(books.nodeChanges, type, node);
        return { nodes: type === 'add' ? [node.metadata?.name ?? ''] : [] };
      },
    }),
    // Watches(ConfigMap / Secret): the functions that take their config or module from one.
    watch({
      kind: 'ConfigMap',
      informer: informers.configMaps,
      wakes: (_type, cm) => ({ functions: referencing(books.functions, 'configMap', cm) }),
    }),
    watch({
      kind: 'Secret',
      informer: informers.secrets,
      wakes: (_type, secret) => ({ functions: referencing(books.functions, 'secret', secret) }),
    }),
  ];
}
