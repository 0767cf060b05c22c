// SPDX-License-Identifier: Apache-2.0
// Work-queue keys, as client-go's cache.MetaNamespaceKeyFunc spells them: `namespace/name` for
// namespaced objects and plain `name` for cluster-scoped ones.
import type { KubernetesObject } from '@kubernetes/client-node';

export interface ObjectKey {
  /** Undefined for cluster-scoped objects. */
  readonly namespace: string | undefined;
  readonly name: string;
}

export function keyOf(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

export function objectKey(obj: KubernetesObject): string {
  const name = obj.metadata?.name;
  if (!name) throw new Error(`object of kind ${obj.kind ?? 'unknown'} has no metadata.name`);
  return keyOf(obj.metadata?.namespace, name);
}

/**
 * The key of a namespaced object as the API server will store it: an object read without a
 * namespace (a manifest not yet stored, a fuzzed input) counts as in `default`, as kubectl does.
 */
export function namespacedKey(obj: {
  readonly metadata?: { readonly namespace?: string; readonly name?: string };
}): string {
  return `${obj.metadata?.namespace ?? 'default'}/${obj.metadata?.name ?? ''}`;
}

export function splitKey(key: string): ObjectKey {
  const parts = key.split('/');
  if (parts.length === 1 && parts[0]) return { namespace: undefined, name: parts[0] };
  if (parts.length === 2 && parts[0] && parts[1]) return { namespace: parts[0], name: parts[1] };
  throw new Error(`invalid work-queue key "${key}": want "namespace/name" or "name"`);
}
