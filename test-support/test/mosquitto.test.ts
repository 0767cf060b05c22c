// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mqtt, { type IConnackPacket, type IPublishPacket, type MqttClient } from 'mqtt';
import { processExists, startMosquitto, waitFor, type Mosquitto } from '../src/index.ts';

function connected(url: string, options: mqtt.IClientOptions): Promise<MqttClient> {
  return mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0, ...options });
}

function nextMessage(
  client: MqttClient,
): Promise<{ topic: string; payload: string; packet: IPublishPacket }> {
  return new Promise((resolve) => {
    client.once('message', (topic, payload, packet) =>
      resolve({ topic, payload: payload.toString(), packet }),
    );
  });
}

describe('the Mosquitto test broker', () => {
  let broker: Mosquitto;
  before(async () => {
    broker = await startMosquitto();
  });
  after(() => broker.dispose());

  it('round-trips an MQTT 5 QoS 1 message with its user properties', async () => {
    const sub = await connected(broker.url, { clientId: 'rt-sub' });
    const pub = await connected(broker.url, { clientId: 'rt-pub' });
    await sub.subscribeAsync('sensors/+/temperature', { qos: 1 });
    const received = nextMessage(sub);
    await pub.publishAsync('sensors/dev-1/temperature', '21.5', {
      qos: 1,
      properties: { userProperties: { unit: 'Cel' } },
    });
    const message = await received;
    assert.equal(message.topic, 'sensors/dev-1/temperature');
    assert.equal(message.payload, '21.5');
    assert.equal(message.packet.qos, 1);
    assert.deepEqual({ ...message.packet.properties?.userProperties }, { unit: 'Cel' });
    await Promise.all([sub.endAsync(), pub.endAsync()]);
  });

  it('keeps a persistent session’s queued QoS 1 message across a broker restart', async () => {
    const sessionOptions = {
      clientId: 'persistent-sub',
      clean: false,
      properties: { sessionExpiryInterval: 300 },
    } as const;
    const sub = await connected(broker.url, sessionOptions);
    await sub.subscribeAsync('alerts/#', { qos: 1 });
    await sub.endAsync();

    const pub = await connected(broker.url, { clientId: 'restart-pub' });
    await pub.publishAsync('alerts/dev-1', 'over-temperature', { qos: 1 });
    await pub.endAsync();

    const oldPid = broker.pid;
    await broker.restart();
    assert.notEqual(broker.pid, oldPid);
    assert.equal(processExists(oldPid ?? -1), false);

    const back = mqtt.connect(broker.url, { protocolVersion: 5, reconnectPeriod: 0, ...sessionOptions });
    const received = nextMessage(back);
    const connack = await new Promise<IConnackPacket>((resolve) => back.once('connect', resolve));
    assert.equal(connack.sessionPresent, true, 'the broker forgot the session');
    const message = await received;
    assert.equal(message.topic, 'alerts/dev-1');
    assert.equal(message.payload, 'over-temperature');
    await back.endAsync();
  });

  it('can be killed and restarted on the same port for fault tests', async () => {
    const pid = broker.pid ?? -1;
    await broker.kill();
    await waitFor('the broker to die', () => (processExists(pid) ? undefined : true));
    await broker.start();
    const client = await connected(broker.url, { clientId: 'after-kill' });
    assert.equal(client.connected, true);
    await client.endAsync();
  });
});
