// SPDX-License-Identifier: Apache-2.0
// When a device's capacity shrank (or a function grew) below what is already assigned, some
// assignments must go. Which ones depends only on that device: functions are admitted first-fit in
// key order, so the outcome is the same whichever run (full or incremental) discovers it.
import { formatBytes } from '@wasmfleet/api';
import { compareStrings } from './order.ts';
import type { SchedulableNode } from './types.ts';

export interface Tenant {
  readonly key: string;
  readonly memoryBytes: number;
}

export interface Eviction {
  readonly key: string;
  readonly reason: string;
}

export function admit(node: SchedulableNode, tenants: readonly Tenant[]): Eviction[] {
  const { capacity } = node;
  const reason =
    `node over capacity (limits: ${capacity.functions} function${capacity.functions === 1 ? '' : 's'}, ` +
    `${formatBytes(capacity.memoryBytes)})`;
  let count = 0;
  let memory = 0;
  const evicted: Eviction[] = [];
  for (const tenant of [...tenants].sort((a, b) => compareStrings(a.key, b.key))) {
    if (count + 1 <= capacity.functions && memory + tenant.memoryBytes <= capacity.memoryBytes) {
      count++;
      memory += tenant.memoryBytes;
    } else {
      evicted.push({ key: tenant.key, reason });
    }
  }
  return evicted;
}
