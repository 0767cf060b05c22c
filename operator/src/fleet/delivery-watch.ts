// SPDX-License-Identifier: Apache-2.0
// Which desired documents a device has not confirmed, and when to send one again.
//
// A device confirms a document by reporting its generation (`observedGeneration`) in its status.
// On Mosquitto a retained document always reaches a subscribed device, but a clustered broker can
// miss one: nats-server 2.15 delivered nothing to a device that subscribed on one node while the
// operator published through another, although every node retained the document (1 run in ~16 of
// the NATS cluster test; ADR 0048). Nothing else would ever send it again — the document does not
// change — so a device online and still behind after a grace period gets the same document again,
// the grace doubling per attempt. Only unconfirmed documents are tracked: a fleet at rest holds
// no entries, and a confirmation costs one map lookup per status.
import type { DesiredState, NodeStatus } from '@wasmfleet/api';

export interface DeliveryWatchOptions {
  /** How long a device may be online without confirming a document before it is sent again. */
  readonly graceMs: number;
  /** The grace doubles per attempt up to this. */
  readonly maxGraceMs: number;
}

interface Unconfirmed {
  readonly doc: DesiredState;
  /** When the document was last sent (first publish or a resend). */
  sentAt: number;
  /** Since when the device has been reporting online (undefined while it is offline). */
  onlineSince: number | undefined;
  /** Resends so far. */
  attempts: number;
}

export interface Resend {
  readonly doc: DesiredState;
  /** 1 for the first resend of this document. */
  readonly attempt: number;
  /** How long the device had been online without confirming it. */
  readonly waitedMs: number;
}

export class DeliveryWatch {
  private readonly unconfirmed = new Map<string, Unconfirmed>();
  private readonly options: DeliveryWatchOptions;

  constructor(options: DeliveryWatchOptions) {
    this.options = options;
  }

  /** A document was published to its device at `now`; `report` is the device's latest status. */
  sent(doc: DesiredState, report: NodeStatus | undefined, now: number): void {
    if (confirms(report, doc)) {
      this.unconfirmed.delete(doc.node);
      return;
    }
    const online = report?.state === 'online' ? now : undefined;
    this.unconfirmed.set(doc.node, { doc, sentAt: now, onlineSince: online, attempts: 0 });
  }

  /**
   * A status from `node` at `now`: forgets a confirmed document, and returns the document to send
   * again when the device has been online without confirming it for longer than the grace.
   */
  observe(node: string, status: NodeStatus, now: number): Resend | undefined {
    const entry = this.unconfirmed.get(node);
    if (!entry) return undefined;
    if (confirms(status, entry.doc)) {
      this.unconfirmed.delete(node);
      return undefined;
    }
    if (status.state !== 'online') {
      entry.onlineSince = undefined;
      return undefined;
    }
    // A device that just came (back) online reads its retained document now: the grace starts here.
    entry.onlineSince ??= now;
    const grace = Math.min(this.options.maxGraceMs, this.options.graceMs * 2 ** entry.attempts);
    const from = Math.max(entry.sentAt, entry.onlineSince);
    if (now - from < grace) return undefined;
    entry.attempts += 1;
    entry.sentAt = now;
    return { doc: entry.doc, attempt: entry.attempts, waitedMs: now - entry.onlineSince };
  }

  /** Devices with a document they have not confirmed yet. */
  get size(): number {
    return this.unconfirmed.size;
  }
}

function confirms(status: NodeStatus | undefined, doc: DesiredState): boolean {
  return (status?.observedGeneration ?? 0) >= doc.generation;
}
