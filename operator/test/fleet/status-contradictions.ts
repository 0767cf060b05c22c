// SPDX-License-Identifier: Apache-2.0
// What a WasmFunction's status must never say at once (issue 15: "status messages never
// contradict their condition"). Pure; used by the unit properties and by the user-path tests,
// which check what `kubectl get` returns.
import type { WasmFunctionStatus } from '@wasmfleet/api';

type Condition = NonNullable<WasmFunctionStatus['conditions']>[number];

const FAILING_REASONS = new Set(['InstancesFailed', 'CallsFailing']);

/** One sentence per contradiction; empty when the status is consistent. */
export function statusContradictions(status: WasmFunctionStatus | undefined): string[] {
  if (!status) return [];
  const found: string[] = [];
  const c = (type: string): Condition | undefined => status.conditions?.find((x) => x.type === type);
  const ready = c('Ready');
  const degraded = c('Degraded');
  const failed = status.failedNodes ?? 0;
  const said = (x: Condition | undefined) => (x ? `${x.type} ${x.status} ${x.reason} "${x.message}"` : '');

  if (ready && (ready.status === 'True') !== (status.phase === 'Ready'))
    found.push(`${said(ready)} while the phase is ${status.phase}`);
  for (const x of [ready, degraded]) {
    if (x && x.status !== 'False' && FAILING_REASONS.has(x.reason) && failed === 0)
      found.push(`${said(x)} while failedNodes is 0`);
  }
  const all = /^(\d+)\/(\d+) devices (ready|run)/.exec(ready?.message ?? '');
  if (
    ready?.status === 'False' &&
    all &&
    all[1] === all[2] &&
    all[1] !== '0' &&
    !/previous/.test(ready.message)
  )
    found.push(`${said(ready)}: not ready, yet every device is`);
  if (degraded?.status === 'False' && failed > 0)
    found.push(`${said(degraded)} while ${failed} devices fail`);
  if (status.phase === 'Degraded' && degraded?.status !== 'True')
    found.push(`phase Degraded but ${said(degraded) || 'no Degraded condition'}`);
  const rollout = status.rollout;
  if (rollout?.failedRevision !== undefined && rollout.failedRevision === status.currentRevision)
    found.push(`failedRevision ${rollout.failedRevision} is the current (stable) revision`);
  if (rollout?.phase === 'Complete' && rollout.failedRevision !== undefined)
    found.push(`rollout Complete with failedRevision ${rollout.failedRevision}`);
  for (const x of status.conditions ?? []) {
    if (
      x.reason === 'RolledBack' &&
      (status.currentRevision === undefined || rollout?.phase !== 'RolledBack')
    )
      found.push(
        `${said(x)} but nothing was rolled back (rollout ${rollout?.phase}, current ${status.currentRevision})`,
      );
  }
  return found;
}
