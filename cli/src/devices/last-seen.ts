// SPDX-License-Identifier: Apache-2.0
// The live columns of `wasmfleet get nodes`, from each device's retained status on the broker
// (ADR 0023): FUNCTIONS (how many it runs), LAST-SEEN (its last heartbeat) and, with -o wide, RUNS
// (which). Neither reaches Kubernetes: heartbeats never do, and a count would change on every
// device whenever a function is placed fleet-wide.
import { functionKey } from '@wasmfleet/api';
import type { Kind } from '../resources.ts';
import { liveStatus } from './live-status.ts';

export async function withLastSeen(
  kind: Kind,
  rows: readonly Record<string, unknown>[],
  flags: { readonly broker?: string | undefined; readonly 'broker-ca'?: string | undefined },
): Promise<{ kind: Kind; note?: string }> {
  if (!flags.broker) return { kind };
  const names = rows.map(nameOf);
  const live = await liveStatus(flags.broker, flags['broker-ca'], names);
  const of = (row: Record<string, unknown>) => live.statuses.get(nameOf(row));
  const running = (row: Record<string, unknown>) => of(row)?.functions;
  return {
    kind: {
      ...kind,
      columns: [
        ...kind.columns,
        { name: 'FUNCTIONS', value: (row) => running(row)?.length, type: 'integer' },
        { name: 'LAST-SEEN', value: (row) => of(row)?.heartbeatAt, type: 'date' },
        { name: 'RUNS', value: (row) => running(row)?.map(functionKey), wide: true },
      ],
    },
    ...(live.problem ? { note: `note: ${live.problem}` } : {}),
  };
}

function nameOf(row: Record<string, unknown>): string {
  const name = (row.metadata as { name?: unknown } | undefined)?.name;
  return typeof name === 'string' ? name : '';
}
