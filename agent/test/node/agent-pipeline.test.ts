// SPDX-License-Identifier: Apache-2.0
// The agent end to end against a real Mosquitto and real wasm: sensor → broker → agent → wasm →
// broker → sink, desired state over MQTT, status back.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { startMosquitto, type Mosquitto } from '@wasmfleet/test-support';
import {
  startAgent,
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
import { fixture, hostile } from '../helpers/wasm.ts';

let broker: Mosquitto;
let operator: MqttClient;
let echo: Uint8Array;

describe('agent pipeline with a real broker', () => {
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

  it('a core module processes every QoS 1 sensor message end to end and reports Running with counts', async () => {
    await using dir = await tempDir();
    const agent = await startAgent(broker.url, 'dev-1', dir.path);
    try {
      await publishDesired(
        operator,
        'dev-1',
        [fnSpec('temp', echo, { inputs: [{ topic: 'sensors/{node}/temp', qos: 1, format: 'senml' }] })],
        1,
      );
      await waitForStatus(operator, 'dev-1', (s) => fnStatus(s, 'temp')?.phase === 'Running');
      const sink = await collect(operator, 'out/dev-1/temp');
      const sent = Array.from({ length: 200 }, (_, i) =>
        JSON.stringify([{ n: 'temp', v: 20 + i / 10, t: i }]),
      );
      for (const m of sent) await operator.publishAsync('sensors/dev-1/temp', m, { qos: 1 });
      await until('all outputs', () => sink.length >= sent.length);
      assert.deepEqual(sink, sent);
      const status = await waitForStatus(
        operator,
        'dev-1',
        (s) => (fnStatus(s, 'temp')?.invocations ?? 0) >= 200,
      );
      const temp = fnStatus(status, 'temp')!;
      assert.equal(temp.errors, 0);
      assert.equal(status.observedGeneration, 1);
      assert.ok(temp.latencyP50Us !== undefined && temp.latencyP99Us !== undefined);
      assert.ok(
        status.sensors?.some((s) => s.name === 'temp'),
        'the sensor was learned from its topic',
      );
    } finally {
      await agent.stop();
    }
    const offline = await waitForStatus(operator, 'dev-1', (s) => s.state === 'offline');
    assert.equal(offline.state, 'offline');
  });

  it('malformed payloads are counted and reported, and good ones keep flowing', async () => {
    await using dir = await tempDir();
    const agent = await startAgent(broker.url, 'dev-2', dir.path);
    try {
      await publishDesired(
        operator,
        'dev-2',
        [
          fnSpec('senml', echo, {
            inputs: [{ topic: 'sensors/{node}/senml', qos: 1, format: 'senml' }],
            limits: { memoryBytes: 1 << 24, timeoutMs: 100, maxPayloadBytes: 1024 },
          }),
          fnSpec('json', echo, { inputs: [{ topic: 'sensors/{node}/json', qos: 1, format: 'json' }] }),
        ],
        1,
      );
      await waitForStatus(
        operator,
        'dev-2',
        (s) => s.functions?.length === 2 && s.functions.every((f) => f.phase === 'Running'),
      );
      const sink = await collect(operator, 'out/dev-2/#');
      await operator.publishAsync('sensors/dev-2/json', '{"temp": 21', { qos: 1 }); // bad JSON
      await operator.publishAsync('sensors/dev-2/json', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { qos: 1 }); // invalid UTF-8
      await operator.publishAsync('sensors/dev-2/senml', '{"n":"temp","v":1}', { qos: 1 }); // SenML must be an array
      await operator.publishAsync('sensors/dev-2/senml', '[{"n":"temp","v":"hot"}]', { qos: 1 }); // v must be a number
      await operator.publishAsync('sensors/dev-2/senml', JSON.stringify([{ n: 'x', vs: 'y'.repeat(2000) }]), {
        qos: 1,
      }); // oversize
      await operator.publishAsync('sensors/dev-2/json', '{"ok":true}', { qos: 1 });
      await operator.publishAsync('sensors/dev-2/senml', '[{"bn":"dev-2/","n":"temp","u":"Cel","v":21.5}]', {
        qos: 1,
      });
      await until('the two good outputs', () => sink.length >= 2);
      const status = await waitForStatus(
        operator,
        'dev-2',
        (s) => (fnStatus(s, 'senml')?.malformed ?? 0) === 3 && (fnStatus(s, 'json')?.malformed ?? 0) === 2,
      );
      assert.match(fnStatus(status, 'senml')!.lastError ?? '', /payload|SenML/);
      assert.deepEqual(sink.sort(), ['[{"bn":"dev-2/","n":"temp","u":"Cel","v":21.5}]', '{"ok":true}']);
    } finally {
      await agent.stop();
    }
  });

  it('hostile modules end in a clear status reason while a healthy function beside them keeps its throughput', async () => {
    await using dir = await tempDir();
    const loop = await hostile('loop-forever');
    const missing = await hostile('missing-import');
    const bomb = await hostile('memory-grow-bomb');
    const invalid = await hostile('invalid-bytes');
    const tamperedSource = echo.slice();
    tamperedSource[tamperedSource.length - 1]! ^= 1;
    for (const m of [loop, missing, bomb, invalid]) await publishModule(operator, m);
    // The module topic for echo-v2's digest carries tampered bytes.
    const echoV2 = await fixture('healthy/features.wat');
    const { sha256Hex } = await import('../../src/store/module-store.ts');
    await publishModule(operator, tamperedSource, sha256Hex(echoV2));
    const agent = await startAgent(broker.url, 'dev-3', dir.path);
    try {
      await publishDesired(
        operator,
        'dev-3',
        [
          fnSpec('healthy', echo),
          fnSpec('loop', loop, { limits: { memoryBytes: 1 << 24, timeoutMs: 50 } }),
          fnSpec('bomb', bomb),
          fnSpec('missing', missing),
          fnSpec('invalid', invalid),
          fnSpec('tampered', echoV2),
          fnSpec('huge', echo, { module: { sha256: 'b'.repeat(64), size: 50 * 1024 * 1024 } }),
        ],
        1,
      );
      const sink = await collect(operator, 'out/dev-3/healthy');
      const started = await waitForStatus(
        operator,
        'dev-3',
        (s) => fnStatus(s, 'healthy')?.phase === 'Running' && fnStatus(s, 'loop')?.phase === 'Running',
      );
      assert.ok(started);
      // Crash-loop phases are transient (the first backoff is 1 s): watch for them from now on.
      const crashLooping = (n: string) =>
        waitForStatus(operator, 'dev-3', (st) => fnStatus(st, n)?.phase === 'CrashLoopBackOff', 20_000);
      const loopCrash = crashLooping('loop');
      const bombCrash = crashLooping('bomb');
      const t0 = performance.now();
      for (let i = 0; i < 300; i++) {
        await operator.publishAsync('sensors/dev-3/healthy', `h${i}`, { qos: 1 });
        if (i < 8) {
          await operator.publishAsync('sensors/dev-3/loop', 'x', { qos: 1 });
          await operator.publishAsync('sensors/dev-3/bomb', 'x', { qos: 1 });
        }
      }
      await until('the healthy outputs', () => sink.length >= 300);
      const elapsed = performance.now() - t0;
      assert.deepEqual(
        sink,
        Array.from({ length: 300 }, (_, i) => `h${i}`),
      );
      const [loopStatus, bombStatus] = await Promise.all([loopCrash, bombCrash]);
      assert.equal(fnStatus(loopStatus, 'loop')?.reason, 'Timeout');
      assert.match(
        fnStatus(loopStatus, 'loop')?.message ?? '',
        /5 calls in a row failed; last: the call did not finish within its 50 ms deadline/,
      );
      assert.ok(fnStatus(loopStatus, 'loop')?.nextRetryAt, 'the backoff says when it retries');
      assert.equal(fnStatus(bombStatus, 'bomb')?.reason, 'OutOfMemory');
      const status = await waitForStatus(operator, 'dev-3', (s) =>
        ['missing', 'invalid', 'tampered', 'huge'].every((n) => fnStatus(s, n)?.phase === 'Failed'),
      );
      const reason = (n: string): string | undefined => fnStatus(status, n)?.reason;
      assert.equal(reason('missing'), 'MissingImport');
      assert.match(fnStatus(status, 'missing')!.message ?? '', /"env"\."open_socket"/);
      assert.equal(reason('invalid'), 'InvalidModule');
      assert.equal(reason('tampered'), 'DigestMismatch');
      assert.equal(reason('huge'), 'ModuleTooLarge');
      assert.equal(fnStatus(status, 'healthy')?.phase, 'Running');
      assert.ok(elapsed < 10_000, `300 healthy messages took ${elapsed} ms`);
    } finally {
      await agent.stop();
    }
  });
});
