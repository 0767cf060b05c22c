// SPDX-License-Identifier: Apache-2.0
// Named regressions the fuzzers found, one folder each under regressions/ (jco-style): the
// minimized input, what the agent must do with it, and a README with the story. Wasm modules
// (regressions/wasm/<case>/module.wasm) are replayed by wasm-modules.test.ts; the desired-state
// cases here run against a real agent process beside a healthy function that must keep working.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { parseNodeStatus, statusTopic, type DesiredFunction } from '@wasmfleet/api';
import { startMosquitto, uniqueName, type Mosquitto } from '@wasmfleet/test-support';
import {
  collect,
  connect,
  fnSpec,
  fnStatus,
  publishDesired,
  publishModule,
  until,
  waitForStatus,
} from '../../agent/test/helpers/fleet.ts';
import { fixture } from '../../agent/test/helpers/wasm.ts';
import { startLiveAgent, type LiveAgent } from './support/live-agent.ts';

const DESIRED = new URL('./regressions/desired/', import.meta.url);
const SENSORS = new URL('./regressions/sensors/', import.meta.url);

interface Expected {
  readonly phase: string;
  readonly reason: string;
  /** A part of the status message. */
  readonly message: string;
}

/** Messages on these topics (`{node}` expanded) reach a function with a wildcard input. */
interface SensorCase {
  readonly topics: readonly string[];
  /** Sensor names the status must list afterwards. */
  readonly expectSensors: readonly string[];
}

const folders = async (dir: URL): Promise<string[]> =>
  (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
const cases = await folders(DESIRED);
const sensorCases = await folders(SENSORS);

let broker: Mosquitto;
let operator: MqttClient;
let agent: LiveAgent;
let echo: Uint8Array;
const node = uniqueName('fuzz-regress');

describe('fuzz regressions: desired documents', () => {
  before(async () => {
    broker = await startMosquitto();
    operator = await connect(broker.url);
    agent = await startLiveAgent(broker.url, node);
    echo = await fixture('healthy/echo.wat');
    await publishModule(operator, echo);
  });
  after(async () => {
    await agent.stop();
    await operator.endAsync();
    await broker.dispose();
  });

  cases.forEach((name, n) => {
    it(name, async () => {
      const read = async <T>(file: string): Promise<T> =>
        JSON.parse(await readFile(new URL(`${name}/${file}`, DESIRED), 'utf8')) as T;
      const overrides = await read<Partial<DesiredFunction>>('function.json');
      const expected = await read<Expected>('expected.json');
      const ok = fnSpec('ok', echo);
      await publishDesired(
        operator,
        node,
        [ok, fnSpec('bad', echo, { ...overrides, revision: name })],
        n + 1,
      );
      const status = await waitForStatus(
        operator,
        node,
        (s) =>
          s.observedGeneration === n + 1 &&
          fnStatus(s, 'bad')?.revision === name &&
          fnStatus(s, 'bad')?.phase === expected.phase &&
          fnStatus(s, 'ok')?.phase === 'Running',
        30_000,
      );
      const bad = fnStatus(status, 'bad');
      assert.ok(bad, 'the bad function is reported');
      assert.equal(bad.reason, expected.reason);
      assert.ok(
        (bad.message ?? '').includes(expected.message),
        `message "${bad.message ?? ''}" lacks "${expected.message}"`,
      );

      // The bad function's input arrives; the healthy function still answers, the session stays up.
      await operator.publishAsync(`sensors/${node}/bad`, 'to the bad one', { qos: 1 });
      const sink = await collect(operator, `out/${node}/ok`);
      for (let i = 0; i < 5; i++) {
        await operator.publishAsync(`sensors/${node}/ok`, `ok-${name}-${i}`, { qos: 1 });
        await new Promise((r) => setTimeout(r, 300));
      }
      await until(
        'the healthy function to answer every input',
        () => sink.filter((m) => m.startsWith(`ok-${name}`)).length === 5,
        15_000,
      );
      await operator.unsubscribeAsync(`out/${node}/ok`);
      const later = await waitForStatus(
        operator,
        node,
        (s) => s.state === 'online' && fnStatus(s, 'ok')?.phase === 'Running',
      );
      assert.equal(later.state, 'online');
      await agent.assertAlive(`with ${name}`);
      assert.doesNotMatch(await broker.log(), new RegExp(`${node} disconnected due to protocol error`));
    });
  });

  sensorCases.forEach((name, n) => {
    it(`sensors: ${name}`, async () => {
      const { topics, expectSensors } = JSON.parse(
        await readFile(new URL(`${name}/topics.json`, SENSORS), 'utf8'),
      ) as SensorCase;
      // Above the desired cases, below the documents of the test that follows.
      const generation = 500 + n;
      const wild = fnSpec('wild', echo, {
        revision: name,
        inputs: [{ topic: 'sensors/{node}/#', qos: 1, format: 'raw' }],
      });
      await publishDesired(operator, node, [fnSpec('ok', echo), wild], generation);
      await waitForStatus(
        operator,
        node,
        (s) => s.observedGeneration === generation && fnStatus(s, 'wild')?.phase === 'Running',
        30_000,
      );
      // Every status document from here on must pass the wire schema the operator applies.
      const refused: string[] = [];
      const check = (topic: string, payload: Buffer): void => {
        if (topic !== statusTopic(node)) return;
        const parsed = parseNodeStatus(payload);
        if (!parsed.ok) refused.push(parsed.errors.join('; '));
      };
      operator.on('message', check);
      try {
        for (const topic of topics)
          await operator.publishAsync(topic.replaceAll('{node}', node), '1', { qos: 1 });
        const status = await waitForStatus(
          operator,
          node,
          (s) => (fnStatus(s, 'wild')?.invocations ?? 0) >= topics.length,
          30_000,
        );
        const names = (status.sensors ?? []).map((s) => s.name);
        for (const expected of expectSensors)
          assert.ok(names.includes(expected), `${expected} is among the learned sensors ${names.join(',')}`);
        assert.ok(names.length <= 128, `${names.length} sensors reported`);
        assert.deepEqual(refused, [], 'status documents the operator would drop');
      } finally {
        operator.removeListener('message', check);
      }
      await agent.assertAlive(`with ${name}`);
    });
  });

  it('a function whose module never arrives does not hold back the next document (module-never-arrives-blocks-reconcile)', async () => {
    // Found by agent-desired.test.ts (long run): the agent's reconcile waited for every start,
    // and a fetch waits up to 30 s for a module, so the next document (here: dropping the
    // function and adding another) was applied only once the fetch had given up.
    const missing = { ...fnSpec('missing', echo), module: { sha256: 'b'.repeat(64), size: 100 } };
    await publishDesired(operator, node, [fnSpec('ok', echo), missing], 1000);
    await waitForStatus(operator, node, (s) => fnStatus(s, 'missing')?.phase === 'Fetching', 30_000);
    const seen: string[] = [];
    const watch = (topic: string, payload: Buffer): void => {
      if (topic === statusTopic(node)) seen.push(payload.toString());
    };
    operator.on('message', watch);
    await publishDesired(operator, node, [fnSpec('ok', echo), fnSpec('second', echo)], 1001);
    const applied = await waitForStatus(
      operator,
      node,
      (s) =>
        s.observedGeneration === 1001 &&
        fnStatus(s, 'second')?.phase === 'Running' &&
        !fnStatus(s, 'missing'),
      60_000,
    );
    operator.removeListener('message', watch);
    // Applied while the fetch was still waiting: it never got to give up and back off first.
    assert.equal(fnStatus(applied, 'missing'), undefined);
    assert.ok(
      !seen.some((text) => text.includes('FetchFailed')),
      'the next document waited for the fetch to fail',
    );
    await agent.assertAlive('after the missing module');
  });
});
