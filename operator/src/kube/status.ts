// SPDX-License-Identifier: Apache-2.0
// Status writes for custom resources, only ever through the /status subresource (so a status
// write can never change spec, and RBAC can grant status separately).
//
// The write is a JSON merge patch that carries metadata.resourceVersion: the API server applies
// it only if the object is still the version the new status was computed from, and answers 409
// Conflict otherwise. On 409 we re-read and recompute, like client-go's RetryOnConflict, so
// concurrent writers never overwrite each other's changes (a plain merge patch would replace the
// whole conditions array and silently drop a concurrent writer's condition).
//
// client-node ≥ 1.0 sends custom-object patches as application/json unless told otherwise, which
// the API server rejects (415); the content type is set explicitly with setHeaderOptions.
import {
  PatchStrategy,
  setHeaderOptions,
  type CustomObjectsApi,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { jittered, sleep, systemClock, type Clock } from './clock.ts';
import { isConflict } from './errors.ts';
import type { CustomResourceKind } from './sources.ts';

export interface StatusTarget extends CustomResourceKind {
  /** Undefined for cluster-scoped kinds. */
  readonly namespace?: string;
  readonly name: string;
}

export interface WithStatus<S> extends KubernetesObject {
  status?: S;
}

/**
 * Computes the desired status from the current object. Return undefined to write nothing.
 * It may run several times (once per conflict), so it must be a pure function of its input.
 */
export type StatusMutation<S> = (current: WithStatus<S>) => S | undefined;

export interface PatchStatusOptions<S> {
  /** A copy already at hand (e.g. from an informer cache) to try first instead of a GET. */
  readonly current?: WithStatus<S>;
  /** Attempts before giving up on conflicts. Default 16. */
  readonly maxAttempts?: number;
  readonly fieldManager?: string;
  readonly clock?: Clock;
}

export interface PatchStatusResult<S> {
  readonly object: WithStatus<S>;
  /** False when the mutation asked for no change (nothing was written). */
  readonly written: boolean;
  /** Conflicts retried before the write went through. */
  readonly conflicts: number;
}

const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((v, i) => jsonEqual(v, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = Object.keys(a).filter((k) => a[k] !== undefined);
    const otherKeys = Object.keys(b).filter((k) => b[k] !== undefined);
    return keys.length === otherKeys.length && keys.every((k) => jsonEqual(a[k], b[k]));
  }
  return false;
}

/**
 * The RFC 7386 merge patch that turns `from` into `to`: changed keys, removed keys as null,
 * arrays and scalars replaced whole. Undefined when they are equal.
 */
export function mergePatchDiff(from: unknown, to: unknown): Json | undefined {
  if (jsonEqual(from, to)) return undefined;
  if (!isPlainObject(from) || !isPlainObject(to)) return (to ?? null) as Json;
  const patch: Record<string, Json> = {};
  for (const key of Object.keys(from)) {
    if (from[key] !== undefined && to[key] === undefined) patch[key] = null;
  }
  for (const [key, value] of Object.entries(to)) {
    if (value === undefined) continue;
    const sub = mergePatchDiff(from[key], value);
    if (sub !== undefined) patch[key] = sub;
  }
  return patch;
}

function describeTarget(t: StatusTarget): string {
  return `${t.plural}.${t.group} ${t.namespace ? `${t.namespace}/` : ''}${t.name}`;
}

async function read<S>(api: CustomObjectsApi, t: StatusTarget): Promise<WithStatus<S>> {
  const { group, version, plural, name, namespace } = t;
  const body: unknown = namespace
    ? await api.getNamespacedCustomObjectStatus({ group, version, plural, name, namespace })
    : await api.getClusterCustomObjectStatus({ group, version, plural, name });
  return body as WithStatus<S>;
}

async function write<S>(
  api: CustomObjectsApi,
  t: StatusTarget,
  patch: object,
  fieldManager: string | undefined,
): Promise<WithStatus<S>> {
  const { group, version, plural, name, namespace } = t;
  const common = { group, version, plural, name, body: patch, ...(fieldManager ? { fieldManager } : {}) };
  const body: unknown = namespace
    ? await api.patchNamespacedCustomObjectStatus({ ...common, namespace }, MERGE_PATCH)
    : await api.patchClusterCustomObjectStatus(common, MERGE_PATCH);
  return body as WithStatus<S>;
}

/** Writes the status `mutate` computes, retrying conflicts by re-reading. */
export async function patchStatus<S>(
  api: CustomObjectsApi,
  target: StatusTarget,
  mutate: StatusMutation<S>,
  options: PatchStatusOptions<S> = {},
): Promise<PatchStatusResult<S>> {
  const maxAttempts = options.maxAttempts ?? 16;
  const clock = options.clock ?? systemClock;
  let current = options.current;
  let conflicts = 0;
  for (let attempt = 1; ; attempt++) {
    try {
      current ??= await read<S>(api, target);
      const desired = mutate(current);
      const diff = desired === undefined ? undefined : mergePatchDiff(current.status, desired);
      if (diff === undefined) return { object: current, written: false, conflicts };
      const resourceVersion = current.metadata?.resourceVersion;
      if (!resourceVersion) throw new Error('the current object has no resourceVersion to guard the write');
      const object = await write<S>(
        api,
        target,
        { metadata: { resourceVersion }, status: diff },
        options.fieldManager,
      );
      return { object, written: true, conflicts };
    } catch (error) {
      if (!isConflict(error)) {
        throw new Error(`writing status of ${describeTarget(target)} failed`, { cause: error });
      }
      conflicts += 1;
      if (attempt >= maxAttempts) {
        throw new Error(
          `writing status of ${describeTarget(target)}: still conflicting after ${attempt} attempts`,
          {
            cause: error,
          },
        );
      }
      current = undefined;
      // Spread the retries so a crowd of writers does not collide again in lockstep.
      await sleep(clock, jittered(Math.min(10 * 1.5 ** (attempt - 1), 500), 1));
    }
  }
}
