// SPDX-License-Identifier: Apache-2.0
// The names the operator and the CLI agree on to steer a rollout (issue 5): the CLI writes them,
// the operator reads them. Values name the revision they apply to, so a stale one is ignored.
export const GATE_PASSED = 'rollout.wasmfleet.io/gate-passed';
export const PROMOTE = 'rollout.wasmfleet.io/promote';
export const ABORT = 'rollout.wasmfleet.io/abort';
export const RESTARTED_AT = 'rollout.wasmfleet.io/restartedAt';
export const CHANGE_CAUSE = 'kubernetes.io/change-cause';
/** Label on the ControllerRevisions that record a function's history. */
export const FUNCTION_LABEL = 'wasmfleet.io/function';

/** `"<updateRevision>/<step>"`: the gate of that step of that revision is passed. */
export function gatePassedValue(updateRevision: string, step: number): string {
  return `${updateRevision}/${step}`;
}

/** RFC 3339 in UTC without fractions, like kubectl's restartedAt. */
export function rfc3339(now: Date): string {
  return now.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
