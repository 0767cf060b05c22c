// SPDX-License-Identifier: Apache-2.0
// The one-line human summary shared by status.rollout.message and `wasmfleet rollout status`.
import { formatRate, plural } from './format.ts';
import type { Health } from './health.ts';

/** "5/10 devices updated, 5 ready, 1 offline, error rate 0.2%". */
export function countsLine(updated: number, targets: number, health: Health): string {
  const parts = [`${updated}/${targets} devices updated`, `${health.ready} ready`];
  if (health.failed.length > 0) parts.push(`${health.failed.length} failed`);
  if (health.waitingOffline > 0) parts.push(`${health.waitingOffline} offline`);
  if (health.errorRate !== undefined) parts.push(`error rate ${formatRate(health.errorRate)}`);
  return parts.join(', ');
}

/** Why a not-yet-healthy step is waiting, when the reason is not obvious from the counts. */
export function waitingNote(health: Health): string {
  if (health.waitingOnline === 0 && health.waitingOffline > 0)
    return `; waiting for ${plural(health.waitingOffline, 'offline device')} to return`;
  return '';
}
