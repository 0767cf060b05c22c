// SPDX-License-Identifier: Apache-2.0
// Regression: a QoS 0 stream faster than the agent's uplink lost up to 46 % of its outputs while
// the agent was connected (pipeline benchmark, unpaced sensor, quiet machine). The agent counted
// QoS 0 outputs handed to mqtt.js and not yet written as "waiting for the broker", and once the
// output buffer (sized for outages, ADR 0013) was full it dropped the newest, although nothing was
// wrong but speed. Now the agent stops reading QoS 0 inputs while too many outputs are unwritten,
// so the surplus waits in the broker's queue instead. On a slow machine the old code may not have
// dropped anything; what this pins holds on any machine: every output arrives, none dropped.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { after, before, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { startMosquitto, type Mosquitto } from '@wasmfleet/test-support';
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
const MESSAGES = 20_000;

let broker: Mosquitto;
let control: MqttClient;

before(async () => {
  broker = await startMosquitto();
  control = await connect(broker.url);
});
after(async () => {
  await control.endAsync();
  await broker.dispose();
});

it('an unpaced QoS 0 stream of 20,000 1 KB readings comes out whole, with no output dropped', async () => {
  await using dir = await tempDir();
  const node = 'uplink-1';
  const echo = await fixture('healthy/echo.wat');
  await publishModule(control, echo);
  await publishDesired(
    control,
    node,
    [
      fnSpec('echo', echo, {
        inputs: [{ topic: `sensors/{node}/echo`, qos: 0, format: 'raw' }],
        outputs: [{ topic: `out/{node}/echo`, qos: 0, retain: false }],
      }),
    ],
    1,
  );
  const child = spawn(
    process.execPath,
    [AGENT_BIN, '--broker', broker.url, '--node', node, '--data-dir', dir.path, '--heartbeat', '1'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const sensor = await connect(broker.url);
  const sink = await connect(broker.url);
  try {
    await waitForStatus(control, node, (s) => fnStatus(s, 'echo')?.phase === 'Running', 60_000);
    let received = 0;
    let lastAt = Date.now();
    sink.on('message', () => {
      received++;
      lastAt = Date.now();
    });
    await sink.subscribeAsync(`out/${node}/echo`, { qos: 0 });
    const payload = Buffer.alloc(1024, 0x61);
    for (let i = 0; i < MESSAGES; i++) {
      sensor.publish(`sensors/${node}/echo`, payload, { qos: 0 });
      if (i % 256 === 0) await new Promise((r) => setImmediate(r));
    }
    lastAt = Date.now();
    // Done when all arrived, or nothing more came for 5 s (what is missing then is lost).
    await until('the stream to finish', () => received >= MESSAGES || Date.now() - lastAt > 5_000, 180_000);
    // A heartbeat sent after the stream: its outputBuffer counts every drop since start.
    const ended = Date.now();
    const status = await waitForStatus(
      control,
      node,
      (s) => s.outputBuffer !== undefined && Date.parse(s.heartbeatAt ?? '') > ended,
      15_000,
    );
    assert.equal(status.outputBuffer?.dropped, 0, `the agent dropped outputs; stderr:\n${stderr}`);
    assert.equal(received, MESSAGES, `${MESSAGES - received} outputs never arrived; stderr:\n${stderr}`);
    // A full socket makes mqtt.js wait for 'drain' once per publish; the agent bounds those
    // itself, so Node's listener-leak warning would only alarm the device's owner. (Seen with
    // 60,000 16 B readings in bench/agent-pipeline/profile.ts; this stream may not fill the
    // socket that far on every machine.)
    assert.doesNotMatch(stderr, /MaxListenersExceededWarning/);
  } finally {
    await Promise.all([sensor.endAsync(), sink.endAsync()]);
    // Exited before its data directory is removed: a stopping agent still writes there.
    child.kill('SIGTERM');
    if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
  }
});
