// SPDX-License-Identifier: Apache-2.0
// Regressions on the operator's MQTT link:
// - no bound on incoming packets: a broker announcing a 256 MB PUBLISH made the operator buffer it
//   (and, with no 'error' listener on the client, any client error would have thrown). The bridge
//   now closes the connection after the packet's header, counts it, and reconnects;
// - a broker URL with a password went into the error the operator printed when it could not
//   connect.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { PACKET_LIMITS } from '@wasmfleet/api';
import { freePort, startOversizedPacketBroker, waitFor } from '@wasmfleet/test-support';
import { FleetBridge } from '../../src/bridge/fleet-bridge.ts';

it('a 256 MB packet from the broker is refused after its header, not buffered; the bridge reconnects', async () => {
  await using broker = await startOversizedPacketBroker({ after: 'subscribe' });
  const malformed: string[] = [];
  const bridge = await FleetBridge.connect({ url: broker.url, syncQuietMs: 50, syncMaxMs: 2_000 }, (b) =>
    b.on('malformed', (_topic, error) => malformed.push(error)),
  );
  try {
    const { bytesSent } = await broker.firstClosed;
    assert.ok(
      bytesSent < PACKET_LIMITS.control,
      `closed after ${bytesSent} bytes (bound ${PACKET_LIMITS.control})`,
    );
    assert.match(malformed.join('\n'), /packet of 268435455 bytes; this client accepts at most 16777216/);
    await waitFor('a reconnection', () => (broker.connections.length >= 2 ? true : undefined), {
      timeoutMs: 15_000,
    });
  } finally {
    await bridge.close();
  }
});

it('the error for a broker it cannot reach names the URL without its password', async () => {
  const url = `mqtt://operator:s3cret-password@127.0.0.1:${await freePort()}`;
  await assert.rejects(FleetBridge.connect({ url, syncQuietMs: 50 }), (error: Error) => {
    assert.match(error.message, /operator:\*\*\*@127\.0\.0\.1/);
    assert.doesNotMatch(error.message, /s3cret/);
    return true;
  });
});
