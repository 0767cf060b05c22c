// SPDX-License-Identifier: Apache-2.0
// Regression: no MQTT client in WasmFleet bounded the packets it accepts, so a broker (or whoever
// holds one) announcing a 256 MB PUBLISH made the agent buffer all of it before the 256 KiB
// payload check could refuse it. The agent now closes the connection as soon as the announced
// length is over its bound (a module envelope of the largest module it stores), logs why, and
// keeps reconnecting; on MQTT 5 it also tells the broker its bound in CONNECT.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { it } from 'node:test';
import { PACKET_LIMITS } from '@wasmfleet/api';
import { spawnManaged, startOversizedPacketBroker, waitFor } from '@wasmfleet/test-support';
import { tempDir } from '../helpers/tmp.ts';

const AGENT_BIN = fileURLToPath(new URL('../../bin/wasmfleet-agent.js', import.meta.url));

for (const version of ['5', '4'] as const) {
  it(`MQTT ${version === '5' ? '5' : '3.1.1'}: a 256 MB packet from the broker is refused after its header, not buffered, and the agent keeps reconnecting`, async () => {
    await using broker = await startOversizedPacketBroker();
    await using dir = await tempDir();
    const logFile = path.join(dir.path, 'agent.log');
    const agent = spawnManaged('agent', process.execPath, {
      args: [
        AGENT_BIN,
        '--broker',
        broker.url,
        '--node',
        'flooded',
        '--data-dir',
        path.join(dir.path, 'data'),
      ],
      env: { ...process.env, WASMFLEET_MQTT_VERSION: version },
      logFile,
    });
    try {
      const { bytesSent } = await broker.firstClosed;
      // The kernel's socket buffers hold a few MB at most; buffering the packet would take 256 MB.
      assert.ok(
        bytesSent < PACKET_LIMITS.device,
        `the agent closed the connection after ${bytesSent} bytes (its bound is ${PACKET_LIMITS.device})`,
      );
      await waitFor('a second connection', () => (broker.connections.length >= 2 ? true : undefined), {
        timeoutMs: 15_000,
      });
      const log = await readFile(logFile, 'utf8');
      assert.match(log, /sent an MQTT packet of 268435455 bytes; this client accepts at most 33619968/);
      assert.equal(agent.child.exitCode, null, 'the agent is still running');
    } finally {
      await agent.stop();
    }
  });
}
