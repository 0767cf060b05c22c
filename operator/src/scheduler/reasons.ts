// SPDX-License-Identifier: Apache-2.0
// Removal reasons, worded for `kubectl describe` and Events.
import type { Verdict } from './eligibility.ts';
import type { PreparedFunction } from './prepared.ts';
import { describeSelector } from './selector.ts';
import { describeTaint } from './taints.ts';
import { formatDuration } from './order.ts';
import type { SchedulableNode } from './types.ts';

export function removalReason(
  pf: PreparedFunction,
  node: SchedulableNode | undefined,
  verdict: Verdict,
  graceMs: number,
): string {
  if (node === undefined) return 'node no longer exists';
  if (verdict.ok) return 'no longer needed';
  switch (verdict.why) {
    case 'selector':
      return `node no longer matches selector ${describeSelector(pf.fn.selector)}`;
    case 'sensors': {
      const missing = pf.fn.sensors.filter((s) => !node.sensors.includes(s));
      return `node no longer reports sensor${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`;
    }
    case 'taint':
      return `node has taint ${describeTaint(verdict.taint)} that the function does not tolerate`;
    case 'offlineExpired':
      return Number.isFinite(verdict.offlineForMs)
        ? `node offline for ${formatDuration(verdict.offlineForMs)}, longer than the ${formatDuration(graceMs)} grace period for replicas`
        : `node offline (since unknown), longer than the ${formatDuration(graceMs)} grace period for replicas`;
    case 'cordoned':
      return 'node is cordoned';
    case 'offline':
      return 'node is offline';
  }
}
