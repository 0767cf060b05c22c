// SPDX-License-Identifier: Apache-2.0
// Which devices stopped sending heartbeats without a last will (a hung agent, a cut link): found by
// a sweep over the latest reports, not by a timer per device, so a fleet at rest costs one cheap
// pass every few seconds whatever its size (ADR 0023). Each device is reported once when it goes
// stale, and a report is news when it changes whether its device counts as online (ADR 0041).
import type { NodeStatus } from '@wasmfleet/api';
import { isOnline } from '../controllers/node-status.ts';

export class Liveness {
  readonly #missedHeartbeats: number;
  readonly #stale = new Set<string>();

  constructor(missedHeartbeats: number) {
    this.#missedHeartbeats = missedHeartbeats;
  }

  /**
   * `report` replaced `previous` as `node`'s latest at `now`: true when that changes whether the
   * device counts as online (a report that changes nothing else must then still reach its
   * EdgeNode). Judged by each report's own heartbeat time, never by its arrival: a link cut
   * without closing the connection delivers the heartbeats it held back (TCP retransmits them)
   * seconds late once it heals. Counting the first such report as the device's return woke a
   * reconcile that found it still overdue and kept the EdgeNode Offline, and the fresh heartbeats
   * behind it, changing nothing else, woke nothing: Offline for good (ADR 0041).
   */
  observe(node: string, previous: NodeStatus | undefined, report: NodeStatus, now: number): boolean {
    const wasOnline =
      !this.#stale.has(node) && previous !== undefined && isOnline(previous, now, this.#missedHeartbeats);
    const online = isOnline(report, now, this.#missedHeartbeats);
    if (online) this.#stale.delete(node);
    return wasOnline !== online;
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
