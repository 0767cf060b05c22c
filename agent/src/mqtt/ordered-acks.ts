// Acknowledging QoS 1 inputs only after their outputs are with the broker, without serialising
// the pipeline. mqtt.js handles one packet at a time and sends the PUBACK when handleMessage
// calls back; we call back at once with a marker error (which skips mqtt.js's PUBACK but lets it
// read the next packet) and send the PUBACK ourselves when the message is done — in arrival
// order, as MQTT requires (3.1.1 §4.6, 5.0 §4.6).

export interface AckTicket {
  readonly messageId: number;
  done: boolean;
  readonly epoch: number;
}

export class OrderedAcks {
  readonly #queue: AckTicket[] = [];
  readonly #send: (messageId: number) => void;
  #epoch = 0;

  constructor(send: (messageId: number) => void) {
    this.#send = send;
  }

  get pending(): number {
    return this.#queue.length;
  }

  open(messageId: number): AckTicket {
    const ticket = { messageId, done: false, epoch: this.#epoch };
    this.#queue.push(ticket);
    return ticket;
  }

  complete(ticket: AckTicket): void {
    if (ticket.epoch !== this.#epoch) return; // from a previous connection: the broker redelivers
    ticket.done = true;
    while (this.#queue[0]?.done) {
      const head = this.#queue.shift();
      if (head) this.#send(head.messageId);
    }
  }

  /** The connection is gone: unsent acks are void, the broker will redeliver those messages. */
  reset(): void {
    this.#epoch++;
    this.#queue.length = 0;
  }
}
