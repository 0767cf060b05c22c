// SPDX-License-Identifier: Apache-2.0
// Kubernetes taint/toleration matching. NoSchedule keeps new work off a node; NoExecute also
// removes work that is already there.
import type { Taint, Toleration } from './types.ts';

export function tolerates(toleration: Toleration, taint: Taint): boolean {
  if (toleration.effect !== undefined && toleration.effect !== taint.effect) return false;
  if ((toleration.operator ?? 'Equal') === 'Exists') {
    // An empty key with Exists tolerates every taint.
    return toleration.key === undefined || toleration.key === '' || toleration.key === taint.key;
  }
  return toleration.key === taint.key && (toleration.value ?? '') === (taint.value ?? '');
}

/** The first taint (of the given effects) that no toleration covers. */
export function untoleratedTaint(
  tolerations: readonly Toleration[],
  taints: readonly Taint[],
  effects: 'NoExecute' | 'any',
): Taint | undefined {
  for (const taint of taints) {
    if (effects === 'NoExecute' && taint.effect !== 'NoExecute') continue;
    if (!tolerations.some((t) => tolerates(t, taint))) return taint;
  }
  return undefined;
}

export function describeTaint(taint: Taint): string {
  return `${taint.key}${taint.value === undefined || taint.value === '' ? '' : `=${taint.value}`}:${taint.effect}`;
}
