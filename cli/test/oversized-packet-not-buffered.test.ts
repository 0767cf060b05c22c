// SPDX-License-Identifier: Apache-2.0
// Regression: the CLI's MQTT client (logs, invoke) buffered whatever packet a broker announced,
// up to MQTT's 256 MB. It now refuses a packet over its bound after the header, says so, and the
// command ends as it would without the broker's messages.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { PACKET_LIMITS } from '@wasmfleet/api';
import { startOversizedPacketBroker } from '@wasmfleet/test-support';
import { cli, namespaceFor, sharedControlPlane } from './helpers.ts';

it('wasmfleet logs: a 256 MB packet from the broker is refused after its header, with a warning', async () => {
  const plane = await sharedControlPlane();
  const ns = await namespaceFor(plane, 'cli-packet');
  const manifest = {
    apiVersion: 'wasmfleet.io/v1alpha1',
    kind: 'WasmFunction',
    metadata: { name: 'flooded', namespace: ns },
    spec: {
      module: { configMap: { name: 'm', key: 'module.wasm' } },
      inputs: [{ topic: 'sensors/{node}/t' }],
      outputs: [{ topic: 'out/{node}/t' }],
    },
  };
  assert.equal((await plane.kubectl(['apply', '-f', '-'], { stdin: JSON.stringify(manifest) })).code, 0);
  await using broker = await startOversizedPacketBroker({ after: 'subscribe' });
  const result = await cli(['logs', 'flooded', '-n', ns, '--window', '1s'], plane.kubeconfigPath, {
    WASMFLEET_BROKER: broker.url,
  });
  const { bytesSent } = await broker.firstClosed;
  assert.ok(bytesSent < PACKET_LIMITS.control, `closed after ${bytesSent} bytes`);
  assert.match(
    result.stderr,
    /warning: the MQTT broker at mqtt:\/\/127\.0\.0\.1:\d+ sent an MQTT packet of 268435455 bytes; this client accepts at most 16777216/,
  );
});
