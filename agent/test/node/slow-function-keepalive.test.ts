// SPDX-License-Identifier: Apache-2.0
// Regression: a function slower than its QoS 1 input made the agent miss its MQTT keepalive and
// reconnect for ever. Backpressure stopped reading the socket once `maxInFlight` inputs waited
// for the function — which also stopped the broker's PINGRESPs from being read. After 1.5 ×
// keepalive mqtt.js dropped the session, the broker redelivered every unacknowledged input, the
// function's queue grew by them again, and the next session starved the same way: a device with
// a slow function (or a backlog after a partition) never settled and processed its readings
// again and again. QoS 1 inputs are bounded by Receive Maximum already, so they no longer pause
// the socket.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { startMosquitto, type Mosquitto } from '@wasmfleet/test-support';
import { Agent } from '../../src/node/agent.ts';
import {
  collect,
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

let broker: Mosquitto;
let operator: MqttClient;

describe('a function slower than its input (regression)', () => {
  before(async () => {
    broker = await startMosquitto();
    operator = await connect(broker.url);
  });
  after(async () => {
    await operator.endAsync();
    await broker.dispose();
  });

  it('keeps one MQTT session through a backlog longer than the keepalive, and answers every reading once', async () => {
    await using dir = await tempDir();
    const node = 'slow-1';
    const log: string[] = [];
    const agent = new Agent({
      brokerUrl: broker.url,
      nodeId: node,
      dataDir: dir.path,
      heartbeatSeconds: 30,
      keepaliveSeconds: 1,
      maxInFlight: 12,
      log: (level, text) => log.push(`${level} ${text}`),
    });
    await agent.start();
    try {
      const spin = await fixture('healthy/spin-echo.wat');
      await publishModule(operator, spin);
      await publishDesired(
        operator,
        node,
        [fnSpec('spin', spin, { limits: { memoryBytes: 16 * 1024 * 1024, timeoutMs: 10_000 } })],
        1,
      );
      await waitForStatus(operator, node, (s) => fnStatus(s, 'spin')?.phase === 'Running');
      const closes: number[] = [];
      agent.client?.on('close', () => closes.push(Date.now()));
      const sink = await collect(operator, `out/${node}/spin`);
      // 24 readings of 400 M iterations each, taken 12 at a time (Receive Maximum): each batch is
      // seconds of work, far beyond 1.5 × the 1 s keepalive.
      const count = 24;
      for (let i = 0; i < count; i++) {
        const payload = Buffer.alloc(8);
        payload.writeUInt32LE(400_000_000, 0);
        payload.writeUInt32LE(i, 4);
        await operator.publishAsync(`sensors/${node}/spin`, payload, { qos: 1 });
      }
      await until('every reading answered', () => new Set(sink).size >= count, 120_000).catch(
        (error: unknown) => {
          throw new Error(
            `${new Set(sink).size}/${count} readings answered, ${closes.length} sessions dropped; agent log:\n${log.join('\n')}`,
            { cause: error },
          );
        },
      );
      await new Promise((r) => setTimeout(r, 1_500)); // a redelivered duplicate would arrive by now
      assert.deepEqual(closes, [], `the session dropped; agent log:\n${log.join('\n')}`);
      assert.equal(sink.length, count, 'a reading was processed more than once');
    } finally {
      await agent.stop();
    }
  });
});
