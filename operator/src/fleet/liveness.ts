// SPDX-License-Identifier: Apache-2.0
// Which devices stopped sending heartbeats without a last will (a hung agent, a cut link): found by
// a sweep over the latest reports, not by a timer per device, so a fleet at rest costs one cheap
// pass every few seconds whatever its size (ADR 0023). Each device is reported once when it goes
// stale and once when a report shows it is back.
import type { NodeStatus } from '@wasmfleet/api';
import { isOnline } from '../controllers/node-status.ts';

export class Liveness {
  readonly #missedHeartbeats: number;
  readonly #stale = new Set<string>();

  constructor(missedHeartbeats: number) {
    this.#missedHeartbeats = missedHeartbeats;
  }

  /** A report arrived from `node`: true when it had been given up on (it is back). */
  observe(node: string): boolean {
    return this.#stale.delete(node);
  }

  /** Devices whose heartbeats became overdue since the last sweep. */
  sweep(reports: ReadonlyMap<string, NodeStatus>, now: number): string[] {
    const gone: string[] = [];
    for (const [node, report] of reports) {
      if (report.state !== 'online' || this.#stale.has(node)) continue;
      if (isOnline(report, now, this.#missedHeartbeats)) continue;
      this.#stale.add(node);
      gone.push(node);
    }
    return gone;
  }

  forget(node: string): void {
    this.#stale.delete(node);
  }
}
