// SPDX-License-Identifier: Apache-2.0
// metav1.Condition handling (apimachinery's meta.SetStatusCondition), pure: callers pass `now`.
// lastTransitionTime moves only when `status` changes, so "Ready since …" stays truthful while
// reason and message are refreshed on every reconcile.

export type ConditionStatus = 'True' | 'False' | 'Unknown';

/** The shape of metav1.Condition; `T` narrows `type` to a resource's condition types (api/). */
export interface Condition<T extends string = string> {
  readonly type: T;
  readonly status: ConditionStatus;
  readonly reason: string;
  readonly message: string;
  readonly observedGeneration?: number;
  /** RFC 3339, second precision (metav1.Time). */
  readonly lastTransitionTime: string;
}

export type ConditionInput<T extends string = string> = Omit<Condition<T>, 'lastTransitionTime'>;

/** metav1.Time serialises without fractional seconds. */
export function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Returns a new list with `input` set: added if its type is new, otherwise updated in place
 * (same position, so patches stay small and diffs readable). The input list is not modified.
 */
export function setCondition<T extends string = string>(
  conditions: readonly Condition[] | undefined,
  input: ConditionInput<T>,
  now: Date,
): Condition[] {
  if (!/^[A-Z][A-Za-z0-9]*$/.test(input.type)) {
    throw new Error(`condition type "${input.type}" must be CamelCase`);
  }
  // The API server rejects an empty reason or one that is not CamelCase-ish.
  if (!/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/.test(input.reason)) {
    throw new Error(`condition ${input.type}: reason "${input.reason}" must be CamelCase`);
  }
  const list = [...(conditions ?? [])];
  const index = list.findIndex((c) => c.type === input.type);
  const existing = index >= 0 ? list[index] : undefined;
  const next: Condition = {
    type: input.type,
    status: input.status,
    reason: input.reason,
    // metav1.Condition caps the message at 32768 characters.
    message: input.message.length > 32_768 ? `${input.message.slice(0, 32_765)}...` : input.message,
    ...(input.observedGeneration !== undefined ? { observedGeneration: input.observedGeneration } : {}),
    lastTransitionTime:
      existing && existing.status === input.status ? existing.lastTransitionTime : rfc3339(now),
  };
  if (index >= 0) list[index] = next;
  else list.push(next);
  return list;
}

export function findCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function isConditionTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return findCondition(conditions, type)?.status === 'True';
}

export function removeCondition(conditions: readonly Condition[] | undefined, type: string): Condition[] {
  return (conditions ?? []).filter((c) => c.type !== type);
}
