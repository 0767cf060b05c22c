// SPDX-License-Identifier: Apache-2.0
// What the broker did: messages received and sent (Mosquitto's $SYS counters, published every
// `sys_interval`), and how many bytes of retained WasmFleet documents it holds.
import mqtt, { type MqttClient } from 'mqtt';

export class BrokerCounters {
  readonly #client: MqttClient;
  received = 0;
  sent = 0;

  private constructor(client: MqttClient) {
    this.#client = client;
    client.on('message', (topic, payload) => {
      const value = Number(payload.toString());
      if (topic === '$SYS/broker/messages/received') this.received = value;
      else if (topic === '$SYS/broker/messages/sent') this.sent = value;
    });
  }

  /** Needs `sys_interval 1` in mosquitto.conf for second-level figures. */
  static async connect(url: string): Promise<BrokerCounters> {
    const client = await mqtt.connectAsync(url, { clientId: `bench-sys-${process.pid}` });
    await client.subscribeAsync(['$SYS/broker/messages/received', '$SYS/broker/messages/sent']);
    return new BrokerCounters(client);
  }

  async close(): Promise<void> {
    await this.#client.endAsync();
  }
}

/** Count and bytes of the retained messages under `filter`, read once (quiet for `quietMs`). */
export async function retainedBytes(
  url: string,
  filter = 'wasmfleet/#',
  quietMs = 2000,
): Promise<{ messages: number; bytes: number }> {
  const client = await mqtt.connectAsync(url, { clientId: `bench-retained-${process.pid}` });
  let messages = 0;
  let bytes = 0;
  let last = Date.now();
  client.on('message', (topic, payload, packet) => {
    if (!packet.retain) return;
    messages++;
    bytes += payload.length + Buffer.byteLength(topic);
    last = Date.now();
  });
  await client.subscribeAsync(filter, { qos: 0 });
  while (Date.now() - last < quietMs) await new Promise((resolve) => setTimeout(resolve, 200));
  await client.endAsync();
  return { messages, bytes };
}
