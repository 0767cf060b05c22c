// SPDX-License-Identifier: Apache-2.0
// A broken runtime: the real agent, except that every QoS 1 input is acknowledged the moment it
// arrives, before it is processed (mqtt.js's default). Killed mid-stream, it loses the inputs it
// had acknowledged: the kit's qos1.ack-after-process must fail.
import type { MqttClient } from 'mqtt';
import { interceptHandleMessage, runAgent } from './intercept.ts';

type Sender = { _sendPacket(packet: { cmd: string; messageId?: number }, ...rest: unknown[]): void };

const early = new WeakMap<MqttClient, Set<number>>();
interceptHandleMessage((client, handler) => {
  const sender = client as unknown as Sender;
  const send = sender._sendPacket.bind(client);
  const acked = new Set<number>();
  early.set(client, acked);
  // The agent's own acknowledgement, once the input is processed, is dropped: it already went out.
  sender._sendPacket = (packet, ...rest) => {
    if (packet.cmd === 'puback' && packet.messageId !== undefined && acked.delete(packet.messageId)) return;
    send(packet, ...rest);
  };
  return (packet, callback) => {
    if (packet.qos === 1 && packet.messageId !== undefined) {
      send({ cmd: 'puback', messageId: packet.messageId, reasonCode: 0 } as {
        cmd: string;
        messageId: number;
      });
      acked.add(packet.messageId);
    }
    handler(packet, callback);
  };
});
await runAgent();
