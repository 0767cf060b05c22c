// SPDX-License-Identifier: Apache-2.0
// Acknowledging QoS 1 inputs only after their outputs are with the broker, without serialising
// the pipeline. mqtt.js handles one packet at a time and sends the PUBACK when handleMessage
// calls back; we call back at once with a marker error (which skips mqtt.js's PUBACK but lets it
// read the next packet — and, crucially, the PUBACKs of our own outputs) and send the PUBACK
// ourselves when the message is done — in arrival order, as MQTT requires (3.1.1 §4.6,
// 5.0 §4.6).
//
// An input is "done" when every hold on it is released: one while it is dispatched, one per
// function batch it joined, one per QoS 1 output until the broker acknowledges that output.
// Tickets are sequence numbers into a ring, so an input costs no allocation here.

export class OrderedAcks {
  readonly #send: (messageId: number) => void;
  #ids = new Uint16Array(1024);
  #holds = new Int32Array(1024);
  #mask = 1023;
  /** Sequence number of the oldest input not yet acknowledged. */
  #head = 0;
  /** Sequence number the next input gets. */
  #tail = 0;

  constructor(send: (messageId: number) => void) {
    this.#send = send;
  }

  get pending(): number {
    return this.#tail - this.#head;
  }

  /** A new QoS 1 input, held once (release it when dispatching is done). */
  open(messageId: number): number {
    if (this.#tail - this.#head > this.#mask) this.#grow();
    const seq = this.#tail++;
    this.#ids[seq & this.#mask] = messageId;
    this.#holds[seq & this.#mask] = 1;
    return seq;
  }

  hold(seq: number): void {
    if (seq >= this.#head) this.#holds[seq & this.#mask] = (this.#holds[seq & this.#mask] ?? 0) + 1;
  }

  release(seq: number): void {
    if (seq < this.#head) return; // from a previous connection (reset): the broker redelivers
    const slot = seq & this.#mask;
    const left = (this.#holds[slot] ?? 0) - 1;
    this.#holds[slot] = left;
    if (left > 0 || seq !== this.#head) return;
    while (this.#head < this.#tail && this.#holds[this.#head & this.#mask] === 0) {
      this.#send(this.#ids[this.#head & this.#mask] ?? 0);
      this.#head++;
    }
  }

  /** The connection is gone: unsent acks are void, the broker will redeliver those messages. */
  reset(): void {
    this.#head = this.#tail;
  }

  #grow(): void {
    const size = (this.#mask + 1) * 2;
    const ids = new Uint16Array(size);
    const holds = new Int32Array(size);
    for (let seq = this.#head; seq < this.#tail; seq++) {
      ids[seq & (size - 1)] = this.#ids[seq & this.#mask] ?? 0;
      holds[seq & (size - 1)] = this.#holds[seq & this.#mask] ?? 0;
    }
    this.#ids = ids;
    this.#holds = holds;
    this.#mask = size - 1;
  }
}
