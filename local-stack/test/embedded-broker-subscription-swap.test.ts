// SPDX-License-Identifier: Apache-2.0
// Regression: a persistent-session client that swapped overlapping filters on `wasmfleet dev up`'s
// embedded broker (aedes) while QoS 1 messages streamed lost a message and its connection at each
// swap ("no such packet": the live delivery found no queued copy, see src/aedes-broker.ts). The
// agent does exactly that when a function with a covering filter comes and goes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import mqtt from 'mqtt';
import { startEmbeddedBroker, waitFor } from '../src/index.ts';

/** Waits for `condition`, checking every 2 ms (the swaps must land while readings stream). */
const until = (what: string, condition: () => boolean): Promise<true> =>
  waitFor(what, () => (condition() ? true : undefined), { intervalMs: 2 });

describe('the embedded broker (aedes) with a persistent session', () => {
  it('keeps every QoS 1 message and the connection while the client swaps a covering filter for the one it covers and back', async () => {
    const broker = await startEmbeddedBroker(0);
    const device = await mqtt.connectAsync(broker.url, {
      clientId: 'swap-device',
      clean: false,
      protocolVersion: 4,
      resubscribe: false,
    });
    const publisher = await mqtt.connectAsync(broker.url, { protocolVersion: 4 });
    try {
      let disconnects = 0;
      device.on('close', () => disconnects++);
      const received = new Set<string>();
      device.on('message', (_topic, payload) => received.add(payload.toString()));
      await device.subscribeAsync('sensors/d1/probe', { qos: 1 });

      const sent: string[] = [];
      let publishing = true;
      const publishes = (async () => {
        for (let i = 0; publishing; i++) {
          sent.push(`reading-${i}`);
          await publisher.publishAsync('sensors/d1/probe', `reading-${i}`, { qos: 1 });
          if (i % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 2));
        }
      })();
      // What the agent does without subscription identifiers: the new filter and the removal of
      // the one it replaces in one go, in both directions.
      for (const [add, remove] of [
        ['sensors/d1/#', 'sensors/d1/probe'],
        ['sensors/d1/probe', 'sensors/d1/#'],
      ] as const) {
        const mark = sent.length;
        await until('readings before the swap', () => sent.length >= mark + 50);
        await Promise.all([device.subscribeAsync(add, { qos: 1 }), device.unsubscribeAsync(remove)]);
      }
      const mark = sent.length;
      await until('readings after the swaps', () => sent.length >= mark + 50);
      publishing = false;
      await publishes;

      await until('every reading delivered', () => sent.every((m) => received.has(m))).catch(
        (error: unknown) => {
          const missing = sent.filter((m) => !received.has(m));
          throw new Error(
            `${missing.length} of ${sent.length} readings lost (${missing.slice(0, 5).join(', ')})`,
            {
              cause: error,
            },
          );
        },
      );
      assert.equal(disconnects, 0, 'the broker never dropped the device');
    } finally {
      await device.endAsync();
      await publisher.endAsync();
      await broker.close();
    }
  });
});
