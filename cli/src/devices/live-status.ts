// SPDX-License-Identifier: Apache-2.0
// Devices' own status, read from the broker for `get nodes` and `describe node`: per-device detail
// stays in MQTT (ADR 0023). Without --broker, or when the broker cannot be reached, the commands
// still answer from Kubernetes and say what they could not show, and why.
import type { NodeStatus } from '@wasmfleet/api';
import { UserError } from '../errors.ts';

export interface LiveStatus {
  readonly statuses: ReadonlyMap<string, NodeStatus>;
  /** Why some or all of it is missing, for a note under the output. */
  readonly problem?: string;
}

export const NO_BROKER_NOTE =
  'pass --broker (or set WASMFLEET_BROKER) to read each device’s own status: every function’s revision, phase, calls and errors, and its last heartbeat';

export async function liveStatus(
  broker: string | undefined,
  caFile: string | undefined,
  nodes: readonly string[],
): Promise<LiveStatus> {
  if (broker === undefined || broker.trim() === '') return { statuses: new Map(), problem: NO_BROKER_NOTE };
  // The MQTT client is loaded only here: `get nodes` without a broker answers without it (ADR 0040).
  const [{ connectBroker, disconnect }, { readRetainedStatus }] = await Promise.all([
    import('../broker/connect.ts'),
    import('../broker/retained-status.ts'),
  ]);
  let client;
  try {
    client = await connectBroker(broker, 'status', { caFile });
  } catch (error) {
    const why = error instanceof UserError ? error.message : String(error);
    return { statuses: new Map(), problem: `${why}; showing what Kubernetes holds` };
  }
  try {
    const statuses = await readRetainedStatus(client, nodes);
    const missing = nodes.length - statuses.size;
    return missing > 0
      ? {
          statuses,
          problem: `${missing} of ${nodes.length} devices have no status on the broker (never connected, or cleared)`,
        }
      : { statuses };
  } finally {
    await disconnect(client);
  }
}
