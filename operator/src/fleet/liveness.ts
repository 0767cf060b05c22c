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

  /**
   * `report` arrived from `node` at `now`: true when the device had been given up on and this
   * report brings it back. A heartbeat that is itself overdue does not: a link that was cut
   * without closing the connection delivers the heartbeats it held back (TCP retransmits them)
   * seconds late once it heals, and the device's node reconcile would run on such a report, find
   * it still stale, and leave the EdgeNode Offline — while the fresh heartbeats behind it, which
   * change nothing else, would wake nothing (the link-flap fault test, ADR 0041).
   */
  observe(node: string, report: NodeStatus, now: number): boolean {
    if (!this.#stale.has(node)) return false;
    if (report.state === 'online' && !isOnline(report, now, this.#missedHeartbeats)) return false;
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
