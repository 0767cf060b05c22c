// SPDX-License-Identifier: Apache-2.0
// aedes as WasmFleet runs it (the embedded broker of `wasmfleet dev up`, and the tests' aedes):
// the stock broker with one race in its persistent sessions closed.
//
// aedes routes a QoS 1 message twice: its persistence queues it for every session whose stored
// subscriptions match (so an offline or slow client gets it later), then its in-memory emitter
// hands it to the live subscriptions, and the live delivery looks the queued copy up to give it a
// packet id. SUBSCRIBE and UNSUBSCRIBE change the stored subscriptions and the live ones one after
// the other, not at once, so a message published in between can reach a live subscription while
// no copy was queued for it. aedes then fails the delivery with "no such packet" and closes the
// client's connection: the message is lost and the client reconnects. A device that swaps a
// covering filter for the one it covers (`sensors/d1/#` → `sensors/d1/probe`) while readings flow
// hits it (agent/test/node/once-per-reading.test.ts lost readings on aedes; docs/adr/0024).
// Queueing the copy at delivery instead keeps the message and the connection.
import { Aedes, type AedesOptions } from 'aedes';

/** The part of aedes' persistence (not in its typings) the fix wraps. */
interface OutgoingQueue {
  outgoingUpdate(client: { readonly id: string }, packet: object): Promise<void>;
  outgoingEnqueue(subscription: { readonly clientId: string }, packet: object): Promise<void>;
}

const NO_SUCH_PACKET = 'no such packet';

export async function createAedes(options: AedesOptions = {}): Promise<Aedes> {
  const broker = await Aedes.createBroker(options);
  queueLiveDeliveriesWithoutCopy((broker as unknown as { persistence: OutgoingQueue }).persistence);
  return broker;
}

function queueLiveDeliveriesWithoutCopy(persistence: OutgoingQueue): void {
  const update = persistence.outgoingUpdate.bind(persistence);
  persistence.outgoingUpdate = async (client, packet) => {
    try {
      await update(client, packet);
    } catch (error) {
      if (!(error instanceof Error) || error.message !== NO_SUCH_PACKET) throw error;
      await persistence.outgoingEnqueue({ clientId: client.id }, packet);
      await update(client, packet);
    }
  };
}
