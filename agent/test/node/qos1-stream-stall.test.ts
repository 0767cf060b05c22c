// SPDX-License-Identifier: Apache-2.0
// Regression: a long QoS 1 stream stalled the agent for good, and SIGTERM could not stop it.
// Backpressure withheld mqtt.js's handleMessage callback once 2,048 inputs were unfinished, but
// an input only finished when the broker acknowledged its outputs — and those PUBACKs arrive on
// the very socket mqtt.js had stopped reading. stop() then waited for the offline status's PUBACK
// the same way. These tests stream through a real Mosquitto and count every output.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { startMosquitto, type Mosquitto } from '@wasmfleet/test-support';
import { Agent } from '../../src/node/agent.ts';
import {
  connect,
  fnSpec,
  fnStatus,
  publishDesired,
  publishModule,
  until,
  waitForStatus,
} from '../helpers/fleet.ts';
import { tempDir } from '../helpers/tmp.ts';
import { fixture } from '../helpers/wasm.ts';

const AGENT_BIN = path.join(import.meta.dirname, '../../bin/wasmfleet-agent.js');

let broker: Mosquitto;
let operator: MqttClient;
let echo: Uint8Array;

/**
 * Publishes `count` numbered QoS 1 messages with at most `window` unacknowledged (by the broker),
 * as a sensor would, and counts how often each number comes back on `output`.
 */
async function streamAndCount(
  input: string,
  output: string,
  count: number,
  window: number,
): Promise<{ seen: Uint8Array; total: () => number }> {
  const sensor = await connect(broker.url);
  const sink = await connect(broker.url);
  const seen = new Uint8Array(count);
  let total = 0;
  sink.on('message', (_topic, payload) => {
    const n = payload.readUInt32BE(0);
    if (n < count) seen[n] = Math.min(255, seen[n]! + 1);
    total++;
  });
  await sink.subscribeAsync(output, { qos: 1 });
  let unacked = 0;
  for (let i = 0; i < count; i++) {
    while (unacked >= window) await new Promise((r) => setImmediate(r));
    unacked++;
    const payload = Buffer.alloc(16);
    payload.writeUInt32BE(i, 0);
    sensor.publish(input, payload, { qos: 1 }, () => unacked--);
  }
  try {
    // Generous: this pins exactly-once delivery, not speed, and CI machines are shared.
    await until('every output', () => total >= count, 180_000);
    await new Promise((r) => setTimeout(r, 300)); // a duplicate would arrive by now
  } finally {
    // Both clients end whatever happened: an open one keeps the test process alive for good.
    await Promise.all([sensor.endAsync(), sink.endAsync()]);
  }
  return { seen, total: () => total };
}

function assertExactlyOnce(seen: Uint8Array, total: number): void {
  const missing = seen.reduce((n, c) => n + (c === 0 ? 1 : 0), 0);
  const repeated = seen.reduce((n, c) => n + (c > 1 ? 1 : 0), 0);
  assert.equal(missing, 0, `${missing} messages never came out`);
  assert.equal(repeated, 0, `${repeated} messages came out more than once`);
  assert.equal(total, seen.length);
}

describe('QoS 1 stream stall (regression)', () => {
  before(async () => {
    broker = await startMosquitto();
    operator = await connect(broker.url);
    echo = await fixture('healthy/echo.wat');
    await publishModule(operator, echo);
  });
  after(async () => {
    await operator.endAsync();
    await broker.dispose();
  });

  it('20,000 QoS 1 messages through the agent process arrive exactly once, and SIGTERM stops it promptly', async () => {
    await using dir = await tempDir();
    const node = 'stall-1';
    await publishDesired(operator, node, [fnSpec('echo', echo)], 1);
    const child = spawn(
      process.execPath,
      [AGENT_BIN, '--broker', broker.url, '--node', node, '--data-dir', dir.path, '--heartbeat', '5'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      await waitForStatus(operator, node, (s) => fnStatus(s, 'echo')?.phase === 'Running');
      const { seen, total } = await streamAndCount(`sensors/${node}/echo`, `out/${node}/echo`, 20_000, 64);
      assertExactlyOnce(seen, total());

      // Before the fix the agent never stopped; 15 s separates "stops" from "hangs" on a busy machine.
      child.kill('SIGTERM');
      const [code] = (await Promise.race([
        once(child, 'exit'),
        new Promise((_, reject) =>
          setTimeout(
            () => reject(new Error(`the agent ignored SIGTERM for 15 s; stderr:\n${stderr}`)),
            15_000,
          ),
        ),
      ])) as [number | null];
      assert.equal(code, 0, `the agent exited with ${code}; stderr:\n${stderr}`);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });

  it('backpressure never withholds the PUBACKs of the agent’s own outputs (maxInFlight 16)', async () => {
    // The old deadlock needed 2,048 unfinished inputs; a tiny limit reaches it within a second.
    await using dir = await tempDir();
    const node = 'stall-2';
    const agent = new Agent({
      brokerUrl: broker.url,
      nodeId: node,
      dataDir: dir.path,
      heartbeatSeconds: 5,
      maxInFlight: 16,
      log: () => undefined,
    });
    await agent.start();
    try {
      await publishDesired(operator, node, [fnSpec('echo', echo)], 1);
      await waitForStatus(operator, node, (s) => fnStatus(s, 'echo')?.phase === 'Running');
      const { seen, total } = await streamAndCount(`sensors/${node}/echo`, `out/${node}/echo`, 3_000, 256);
      assertExactlyOnce(seen, total());
    } finally {
      // Before the fix stop() waited for good on a PUBACK it had itself withheld.
      await agent.stop();
    }
  });
});
