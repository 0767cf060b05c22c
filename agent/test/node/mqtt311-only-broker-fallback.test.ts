// SPDX-License-Identifier: Apache-2.0
// Regression: against a broker that speaks only MQTT 3.1.1 (aedes, the dev stack's embedded
// broker) the agent logged "falling back to 3.1.1" and then never connected, because mqtt.js
// does not reconnect after a refused CONNACK.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { it } from 'node:test';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import { waitFor } from '@wasmfleet/test-support';

const AGENT_BIN = fileURLToPath(new URL('../../bin/wasmfleet-agent.js', import.meta.url));

it('an agent falls back to MQTT 3.1.1 and comes online on a 3.1.1-only broker', async () => {
  const aedes = await Aedes.createBroker();
  const server = createServer(aedes.handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const url = `mqtt://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const observer = await mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0 });
  const states: string[] = [];
  observer.on('message', (_t, payload) =>
    states.push((JSON.parse(payload.toString()) as { state: string }).state),
  );
  await observer.subscribeAsync('wasmfleet/v1/nodes/legacy/status', { qos: 1 });
  const data = await mkdtemp(path.join(tmpdir(), 'agent-311-'));
  const agent = spawn(
    process.execPath,
    [AGENT_BIN, '--broker', url, '--node', 'legacy', '--data-dir', data, '--heartbeat', '1'],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let log = '';
  agent.stderr.on('data', (chunk: Buffer) => (log += chunk.toString()));
  try {
    await waitFor('the agent online over 3.1.1', () => (states.includes('online') ? true : undefined), {
      timeoutMs: 15_000,
    });
    assert.match(log, /connected to .*\(MQTT 3\.1\.1\)/);
  } finally {
    agent.kill('SIGTERM');
    await new Promise((resolve) => agent.once('exit', resolve));
    await observer.endAsync();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
  }
});
