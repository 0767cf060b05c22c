// SPDX-License-Identifier: Apache-2.0
// Revision history as ControllerRevision objects (apps/v1), like a Deployment's ReplicaSets or
// a StatefulSet's revisions: one per distinct function content, numbered, with the spec it came
// from (for `wasmfleet rollout undo`) and the wire document devices run (so a device can be kept
// on the stable revision during a rollout, even after an operator restart).
import { AppsV1Api, type KubeConfig, type V1ControllerRevision } from '@kubernetes/client-node';
import { API_VERSION, type DesiredFunction, type WasmFunction, type WasmFunctionSpec } from '@wasmfleet/api';
import { isAlreadyExists, isNotFound, keyOf } from '../kube/index.ts';

export const FUNCTION_LABEL = 'wasmfleet.io/function';
export const DEFAULT_HISTORY_LIMIT = 10;

export interface StoredRevision {
  readonly number: number;
  readonly revision: string;
  readonly spec: WasmFunctionSpec;
  readonly desired: DesiredFunction;
}

interface RevisionData {
  revision: string;
  spec: WasmFunctionSpec;
  desired: DesiredFunction;
}

export class RevisionStore {
  private readonly api: AppsV1Api;
  /** namespace/name → revision hash → stored revision; loaded once per function. */
  private readonly cache = new Map<string, Map<string, StoredRevision>>();

  constructor(kc: KubeConfig) {
    this.api = kc.makeApiClient(AppsV1Api);
  }

  async get(fn: WasmFunction, revision: string): Promise<StoredRevision | undefined> {
    return (await this.load(fn)).get(revision);
  }

  /** Records `desired` as a revision of `fn` (once), pruning history beyond the limit. */
  async ensure(
    fn: WasmFunction,
    desired: DesiredFunction,
    keep: ReadonlySet<string>,
  ): Promise<StoredRevision> {
    const revisions = await this.load(fn);
    const existing = revisions.get(desired.revision);
    if (existing) return existing;
    const namespace = fn.metadata.namespace ?? 'default';
    const name = fn.metadata.name ?? '';
    const number = Math.max(0, ...[...revisions.values()].map((r) => r.number)) + 1;
    const body: V1ControllerRevision = {
      apiVersion: 'apps/v1',
      kind: 'ControllerRevision',
      metadata: {
        name: `${name}-${desired.revision}`.slice(0, 253),
        namespace,
        labels: { [FUNCTION_LABEL]: name, 'app.kubernetes.io/managed-by': 'wasmfleet' },
        ...(fn.metadata.uid
          ? {
              ownerReferences: [
                {
                  apiVersion: API_VERSION,
                  kind: 'WasmFunction',
                  name,
                  uid: fn.metadata.uid,
                  controller: true,
                },
              ],
            }
          : {}),
      },
      revision: number,
      data: { revision: desired.revision, spec: fn.spec, desired } satisfies RevisionData,
    };
    try {
      await this.api.createNamespacedControllerRevision({ namespace, body });
    } catch (error) {
      if (!isAlreadyExists(error))
        throw new Error(`recording revision ${desired.revision} of ${namespace}/${name}`, { cause: error });
      this.cache.delete(keyOf(namespace, name));
      return (
        (await this.load(fn)).get(desired.revision) ?? {
          number,
          revision: desired.revision,
          spec: fn.spec,
          desired,
        }
      );
    }
    const stored = { number, revision: desired.revision, spec: fn.spec, desired };
    revisions.set(desired.revision, stored);
    await this.prune(fn, revisions, new Set([...keep, desired.revision]));
    return stored;
  }

  forget(key: string): void {
    this.cache.delete(key);
  }

  private async prune(
    fn: WasmFunction,
    revisions: Map<string, StoredRevision>,
    keep: ReadonlySet<string>,
  ): Promise<void> {
    const limit = fn.spec.revisionHistoryLimit ?? DEFAULT_HISTORY_LIMIT;
    const oldest = [...revisions.values()]
      .filter((r) => !keep.has(r.revision))
      .sort((a, b) => a.number - b.number);
    const excess = revisions.size - Math.max(limit, keep.size);
    for (const r of oldest.slice(0, Math.max(0, excess))) {
      const namespace = fn.metadata.namespace ?? 'default';
      try {
        await this.api.deleteNamespacedControllerRevision({
          namespace,
          name: `${fn.metadata.name ?? ''}-${r.revision}`.slice(0, 253),
        });
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
      revisions.delete(r.revision);
    }
  }

  private async load(fn: WasmFunction): Promise<Map<string, StoredRevision>> {
    const namespace = fn.metadata.namespace ?? 'default';
    const name = fn.metadata.name ?? '';
    const key = keyOf(namespace, name);
    const cached = this.cache.get(key);
    if (cached) return cached;
    const list = await this.api.listNamespacedControllerRevision({
      namespace,
      labelSelector: `${FUNCTION_LABEL}=${name}`,
    });
    const revisions = new Map<string, StoredRevision>();
    for (const item of list.items) {
      const data = item.data as RevisionData | undefined;
      if (!data?.revision) continue;
      revisions.set(data.revision, {
        number: item.revision,
        revision: data.revision,
        spec: data.spec,
        desired: data.desired,
      });
    }
    this.cache.set(key, revisions);
    return revisions;
  }
}
