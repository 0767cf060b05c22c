// SPDX-License-Identifier: Apache-2.0
// A function's history: the ControllerRevisions the operator writes (apps/v1, labelled
// wasmfleet.io/function=<name>, `.revision` an integer, `.data` = { revision: <hash>, spec }).
// Reading them is I/O; picking one and marking current/update are pure.
import { AppsV1Api, type V1ControllerRevision } from '@kubernetes/client-node';
import type { WasmFunctionSpec } from '@wasmfleet/api';
import { UserError } from '../errors.ts';
import type { FunctionObject } from '../functions/read.ts';
import type { KubeContext } from '../kube/context.ts';
import { CHANGE_CAUSE, FUNCTION_LABEL } from './annotations.ts';

export interface Revision {
  readonly number: number;
  readonly name: string;
  readonly hash: string | undefined;
  readonly created: string | undefined;
  readonly changeCause: string | undefined;
  readonly spec: WasmFunctionSpec | undefined;
  readonly current: boolean;
  readonly update: boolean;
}

export async function listRevisions(kube: KubeContext, fn: FunctionObject): Promise<Revision[]> {
  const apps = kube.config.makeApiClient(AppsV1Api);
  const list = await apps.listNamespacedControllerRevision({
    namespace: fn.metadata.namespace,
    labelSelector: `${FUNCTION_LABEL}=${fn.metadata.name}`,
  });
  return toRevisions(list.items, fn);
}

export function toRevisions(items: readonly V1ControllerRevision[], fn: FunctionObject): Revision[] {
  const status = fn.status ?? {};
  return items
    .map((cr) => {
      const data = (cr.data ?? {}) as { revision?: unknown; spec?: unknown };
      const name = cr.metadata?.name ?? '';
      const hash = typeof data.revision === 'string' ? data.revision : undefined;
      const matches = (wanted: string | undefined) =>
        wanted !== undefined && (wanted === hash || wanted === name);
      const created = cr.metadata?.creationTimestamp;
      return {
        number: cr.revision,
        name,
        hash,
        created: created?.toISOString(),
        changeCause: cr.metadata?.annotations?.[CHANGE_CAUSE],
        spec: isSpec(data.spec) ? data.spec : undefined,
        current: matches(status.currentRevision),
        update: matches(status.updateRevision),
      };
    })
    .sort((a, b) => a.number - b.number);
}

function isSpec(value: unknown): value is WasmFunctionSpec {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && 'module' in value;
}

/** The revision `undo` goes back to: --to-revision N, or the one before the newest. */
export function pickUndoTarget(
  revisions: readonly Revision[],
  functionName: string,
  toRevision: number | undefined,
  nsHint: string,
): Revision {
  if (revisions.length === 0) {
    throw new UserError(`"${functionName}" has no revision history`, {
      hint: `the operator records revisions as ControllerRevisions labelled ${FUNCTION_LABEL}=${functionName}; check that it is running`,
    });
  }
  const known = revisions.map((r) => r.number).join(', ');
  if (toRevision !== undefined) {
    const found = revisions.find((r) => r.number === toRevision);
    if (!found) {
      throw new UserError(`revision ${toRevision} of "${functionName}" not found`, {
        hint: `known revisions: ${known} (see \`wasmfleet rollout history ${functionName}${nsHint}\`)`,
      });
    }
    return found;
  }
  const newest = revisions.find((r) => r.update) ?? revisions.at(-1);
  const previous = revisions.filter((r) => r !== newest && r.number < (newest?.number ?? 0)).at(-1);
  if (!previous) {
    throw new UserError(`"${functionName}" has no previous revision to go back to (only revision ${known})`, {
      hint: 'a revision is recorded each time the spec changes; name one explicitly with --to-revision N',
    });
  }
  return previous;
}

/** Spec equality that ignores key order (and `paused`, which is not part of a revision). */
export function sameSpec(a: WasmFunctionSpec, b: WasmFunctionSpec): boolean {
  const { paused: _a, ...left } = a;
  const { paused: _b, ...right } = b;
  return canonical(left) === canonical(right);
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => a.localeCompare(b));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
