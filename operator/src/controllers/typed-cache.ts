// SPDX-License-Identifier: Apache-2.0
// A read-only, typed view of an informer cache for our custom resources. client-node types
// every object as KubernetesObject (whose metadata timestamps are Date), but custom objects
// arrive as plain JSON (timestamps are strings) — exactly the api/ TypeBox types. The one cast
// between the two lives here.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Informer } from '../kube/index.ts';

export interface Cache<T> {
  get(namespace: string | undefined, name: string): T | undefined;
  getByKey(key: string): T | undefined;
  list(namespace?: string): T[];
}

export function typedCache<T>(informer: Informer<KubernetesObject>): Cache<T> {
  return {
    get: (namespace, name) => informer.get(namespace, name) as T | undefined,
    getByKey: (key) => informer.getByKey(key) as T | undefined,
    list: (namespace) => informer.list(namespace) as T[],
  };
}
