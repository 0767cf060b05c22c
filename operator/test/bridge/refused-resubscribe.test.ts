// SPDX-License-Identifier: Apache-2.0
// The NATS-cluster failover test's 1-in-3 failure (ADR 0029, 0038): after a broker node died the
// operator reconnected, the broker refused its status subscription once (JetStream still electing
// a leader), and the operator heard no device again. mqtt.js's own resubscribe had sent the
// SUBSCRIBE and swallowed the refusal, and the bridge's retrying SUBSCRIBE was never sent (mqtt.js
// skips a filter still on its resubscribe list). Here a broker refuses the status filter once
// right after a reconnect: the bridge must say so, retry, and hear the device.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import { ALL_STATUS_FILTER, statusTopic } from '@wasmfleet/api';
import { startAedes, waitFor, type AedesBroker } from '@wasmfleet/test-support';
import { FleetBridge } from '../../src/bridge/fleet-bridge.ts';

describe('the bridge after a reconnect whose status subscription is refused', () => {
  let broker: AedesBroker;
  let bridge: FleetBridge;
  let refuseStatus = 0;
  const refused: string[] = [];
  const heard = new Set<string>();

  before(async () => {
    broker = await startAedes({
      authorizeSubscribe: (_client, sub, done) => {
        if (sub.topic === ALL_STATUS_FILTER && refuseStatus > 0) {
          refuseStatus--;
          done(null, null);
          return;
        }
        done(null, sub);
      },
    });
    bridge = await FleetBridge.connect({ url: broker.url, syncQuietMs: 50 }, (b) => {
      b.on('subscriptionRefused', (filters, error) => refused.push(`${filters.join(',')}: ${error}`));
      b.on('status', (node) => heard.add(node));
    });
  });
  after(async () => {
    await bridge.close();
    await broker.dispose();
  });

  it('retries the refused filter and hears devices again', async () => {
    refuseStatus = 1;
    broker.dropClients();
    await waitFor('the refusal to be reported', () => (refused.length > 0 ? true : undefined), {
      timeoutMs: 10_000,
    });
    const device = await mqtt.connectAsync(broker.url, { protocolVersion: 4 });
    try {
      await device.publishAsync(
        statusTopic('d1'),
        JSON.stringify({ version: 1, node: 'd1', state: 'offline' }),
        {
          qos: 1,
          retain: true,
        },
      );
      await waitFor('the device status', () => (heard.has('d1') ? true : undefined), { timeoutMs: 10_000 });
    } finally {
      await device.endAsync();
    }
    assert.match(refused[0] ?? '', /status/);
  });
});
