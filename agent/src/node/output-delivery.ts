// SPDX-License-Identifier: Apache-2.0
// Publishing what a function returned: within the output budget (ADR 0013), with each QoS 1
// input acknowledged only once its outputs are with the broker (ordered-acks.ts); QoS 0 outputs
// made while disconnected are counted until mqtt.js's offline queue sends them.
import type { MqttClient } from 'mqtt';
import type { OrderedAcks } from '../mqtt/ordered-acks.ts';
import type { OutputBudget } from '../mqtt/output-budget.ts';
import type { InvokeResult } from '../runtime/types.ts';
import type { InputBackpressure } from './input-backpressure.ts';
import type { Batch } from './input-dispatch.ts';
import type { ManagedFunction } from './managed-function.ts';

const QOS1 = { qos: 1, retain: false } as const;

export interface OutputDelivery {
  readonly client: () => MqttClient | undefined;
  readonly acks: () => OrderedAcks | undefined;
  readonly outputs: OutputBudget;
  readonly backpressure: InputBackpressure;
  /** An output did not fit the budget and was dropped. */
  readonly dropped: (connected: boolean) => void;
}

/** Publishes a batch's outputs; each QoS 1 input is released once its outputs are acknowledged. */
export function deliverOutputs(
  o: OutputDelivery,
  fn: ManagedFunction,
  batch: Batch,
  results: readonly InvokeResult[],
): void {
  o.backpressure.answered(batch.counted);
  const client = o.client();
  const acks = o.acks();
  for (let i = 0; i < batch.inputs.length; i++) {
    const result = results[i];
    const seq = batch.seqs[i] ?? -1;
    if (result?.ok && client) {
      for (const out of result.outputs) {
        const p = out.payload;
        // The runtime hands its copies over as Buffers already (channel.ts); no second wrapper.
        const buf = Buffer.isBuffer(p) ? p : Buffer.from(p.buffer, p.byteOffset, p.byteLength);
        publishOutput(o, client, acks, seq, out.topic, buf, publishOptions(fn, out.topic));
      }
    }
    if (seq >= 0) acks?.release(seq);
  }
}

/** How an output topic is published (a loop: a closure per output was garbage per message). */
function publishOptions(
  fn: ManagedFunction,
  topic: string,
): { readonly qos: 0 | 1; readonly retain: boolean } {
  for (const spec of fn.outputs) if (spec.topic === topic) return spec.publish;
  return QOS1;
}

function publishOutput(
  o: OutputDelivery,
  client: MqttClient,
  acks: OrderedAcks | undefined,
  seq: number,
  topic: string,
  buf: Buffer,
  options: { readonly qos: 0 | 1; readonly retain: boolean },
): void {
  const size = buf.byteLength;
  // The output of a QoS 1 input on a live session always goes out: MQTT's flow control
  // bounds those (the broker sends at most Receive Maximum unacknowledged inputs), and the
  // input is acknowledged only once the output is with the broker. Everything else —
  // outputs made while disconnected, outputs of QoS 0 inputs — is held only up to the
  // bound; beyond it the newest is dropped and counted (ADR 0013). A dropped output of a
  // QoS 1 input loses nothing: its session's acknowledgements are void, and the broker
  // sends the input again.
  const flowControlled = seq >= 0 && client.connected;
  if (!o.outputs.take(size, flowControlled)) {
    o.dropped(client.connected);
    return;
  }
  if (seq >= 0 && options.qos === 1 && acks) {
    // Resolves on the broker's PUBACK: only then may the input be acknowledged.
    acks.hold(seq);
    client.publish(topic, buf, options, () => {
      o.outputs.give(size);
      acks.release(seq);
    });
  } else if (options.qos === 0 && client.connected) {
    // Handed to the socket, which input-backpressure.ts bounds (QoS 0 reading waits for its
    // 'drain'): its room is free again at once. No callback: mqtt.js adds a 'drain' listener per
    // publish with one while the socket is full, and removing each searched the whole list.
    client.publish(topic, buf, options);
    o.outputs.give(size);
  } else {
    client.publish(topic, buf, options, () => {
      o.outputs.give(size);
    });
  }
}
