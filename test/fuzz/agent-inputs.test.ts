// SPDX-License-Identifier: Apache-2.0
// MQTT inputs into a running agent: a real Mosquitto, the real agent process and the echo
// function subscribed with raw, JSON and SenML inputs. The fuzz batch (arbitrary bytes, mutated
// JSON/SenML, deep nesting, invalid UTF-8, odd topics under the filters) must not take the agent
// down; every input is either echoed or counted as malformed; and a healthy stream sent after the
// batch comes out complete and in order.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { MqttClient } from 'mqtt';
import type { NodeStatus } from '@wasmfleet/api';
import { startMosquitto, uniqueName, type Mosquitto } from '@wasmfleet/test-support';
import { checkPayload, type PayloadFormat } from '../../agent/src/io/payload-check.ts';
import {
  connect,
  fnSpec,
  fnStatus,
  publishDesired,
  publishModule,
  until,
  waitForStatus,
} from '../../agent/test/helpers/fleet.ts';
import { fixture } from '../../agent/test/helpers/wasm.ts';
import { FUZZ_SEED, runs } from './support/budget.ts';
import { startLiveAgent, type LiveAgent } from './support/live-agent.ts';
import { deepJson, invalidUtf8, mutateBytes, mutateJson, type Json } from './support/mutate.ts';
import { Tally } from './support/tally.ts';
import { validJson, validSenml } from './support/wire-arbitraries.ts';

let broker: Mosquitto;
let operator: MqttClient;
let agent: LiveAgent;
const node = uniqueName('fuzz-in');
const enc = (v: Json): Uint8Array => Buffer.from(JSON.stringify(v));

/** Wildcards, the level separator, C1 controls and non-characters (C0 controls are checked apart). */
const FORBIDDEN_IN_TOPIC = /[+#/\u007f-\u009f\ufffe\uffff]/;

function hasC0Control(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) < 0x20) return true;
  return false;
}

/** A topic level MQTT allows (no wildcards, NUL or control characters), often unusual. */
const level = fc.oneof(
  fc.constantFrom('', ' ', 'temp', 'ünïcødé', '𝔘', '$x', 'a.b', '..', '%00', '\\'),
  fc
    .string({ unit: 'grapheme', maxLength: 12 })
    .filter((s) => !FORBIDDEN_IN_TOPIC.test(s) && !hasC0Control(s)),
);

const FORMATS: readonly PayloadFormat[] = ['raw', 'json', 'senml'];

const payload = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  validJson.map(enc),
  validSenml.map(enc),
  validSenml.chain((s) => mutateJson(s)).map(enc),
  validSenml.map(enc).chain(mutateBytes),
  invalidUtf8,
  deepJson,
  fc.constant(new Uint8Array(256 * 1024 + 1)), // one byte over the default limit
);

interface Input {
  readonly topic: string;
  readonly format: PayloadFormat | undefined; // undefined: matches no filter
  readonly payload: Uint8Array;
}

const input: fc.Arbitrary<Input> = fc
  .tuple(
    fc.constantFrom(...FORMATS, 'none' as const),
    fc.array(level, { minLength: 1, maxLength: 4 }),
    payload,
  )
  .map(([format, levels, bytes]) => {
    // json is subscribed with '+' (one level); raw and senml with '#'.
    const rest = format === 'json' ? levels.slice(0, 1) : levels;
    return {
      topic: `fz/${node}/${format === 'none' ? 'other' : format}/${rest.join('/')}`,
      format: format === 'none' ? undefined : format,
      payload: bytes,
    };
  });

describe('fuzz: MQTT inputs into a running agent', () => {
  before(async () => {
    broker = await startMosquitto();
    operator = await connect(broker.url);
    agent = await startLiveAgent(broker.url, node);
    const echo = await fixture('healthy/echo.wat');
    await publishModule(operator, echo);
    await publishDesired(
      operator,
      node,
      [
        fnSpec('fz', echo, {
          inputs: FORMATS.map((format) => ({
            topic: `fz/{node}/${format}/${format === 'json' ? '+' : '#'}`,
            qos: 1 as const,
            format,
          })),
          outputs: [{ topic: 'out/{node}/fz', qos: 1, retain: false }],
          // Generous: a deadline overrun is not what this target is about.
          limits: { memoryBytes: 16 * 1024 * 1024, timeoutMs: 2_000 },
        }),
      ],
      1,
    );
    await waitForStatus(operator, node, (s) => fnStatus(s, 'fz')?.phase === 'Running', 30_000);
  });
  after(async () => {
    await agent.stop();
    await operator.endAsync();
    await broker.dispose();
  });

  it('survives the fuzz batch, counts every malformed input and keeps serving the healthy stream', async (t) => {
    const tally = new Tally('agent MQTT inputs');
    const outputs: Buffer[] = [];
    operator.on('message', (topic, message) => {
      if (topic === `out/${node}/fz`) outputs.push(message);
    });
    await operator.subscribeAsync(`out/${node}/fz`, { qos: 1 });

    const batch = fc.sample(input, { numRuns: runs(600), seed: FUZZ_SEED });
    const expected: Buffer[] = [];
    let malformed = 0;
    for (const i of batch) {
      await operator.publishAsync(i.topic, Buffer.from(i.payload), { qos: 1 });
      if (i.format === undefined) {
        tally.record('matches no filter: ignored');
        continue;
      }
      const verdict = checkPayload(i.payload, i.format);
      tally.record(verdict.ok ? undefined : `${i.format}: ${verdict.problem}`);
      if (verdict.ok) expected.push(Buffer.from(i.payload));
      else malformed++;
    }
    await agent.assertAlive('during the fuzz batch');

    // Every input is accounted for: counted as malformed, or passed to the function, which echoes
    // it (in order) or fails the call (a deadline overrun on a loaded machine is a call error).
    // The counts come from one status document, which can be up to a heartbeat older than the
    // outputs seen here: wait for one that has seen every call (CI, seed 273341326: 240 of 243).
    const accounted = (s: NodeStatus): boolean => {
      const f = fnStatus(s, 'fz');
      return (
        f !== undefined &&
        f.malformed >= malformed &&
        f.invocations >= expected.length &&
        outputs.length + f.errors >= expected.length
      );
    };
    const status = await waitForStatus(operator, node, accounted, runs(60_000)).catch(
      async (error: unknown) => {
        await agent.assertAlive('while the batch was processed');
        throw new Error(`seed ${FUZZ_SEED}: ${outputs.length}/${expected.length} outputs`, { cause: error });
      },
    );
    const fz = fnStatus(status, 'fz');
    assert.equal(fz?.malformed, malformed, `malformed count (seed ${FUZZ_SEED})`);
    assert.equal(fz.phase, 'Running');
    assert.equal(
      fz.invocations,
      expected.length,
      `every well-formed input reached the function (seed ${FUZZ_SEED})`,
    );
    assert.equal(outputs.length + fz.errors, expected.length, `outputs + failed calls (seed ${FUZZ_SEED})`);
    // The outputs are the inputs, in order (a failed call leaves a gap, never a change).
    let at = 0;
    for (const [n, o] of outputs.entries()) {
      const from = at;
      while (at < expected.length && !(expected[at] ?? Buffer.alloc(0)).equals(o)) at++;
      if (at >= expected.length) {
        const log = await agent.log();
        if (process.env.WASMFLEET_FUZZ_DEBUG)
          for (let k = Math.max(0, from - 40); k < Math.min(outputs.length, from + 10); k++) {
            const idx = expected.findIndex((e) => e.equals(outputs[k] ?? Buffer.alloc(0)));
            console.error(`output ${k} = input ${idx} (${outputs[k]?.length ?? 0} bytes)`);
          }
        const sessions = log.split('\n').filter((l) => l.includes(' connected to ')).length;
        assert.fail(
          `output ${n} (${o.subarray(0, 40).toString('hex')}) is not an input, or out of order (expected from input ${from}; it is input ${expected.flatMap((e, k) => (e.equals(o) ? [k] : [])).join(',') || 'none'}; ${fz.errors} failed calls); the agent connected ${sessions} times (seed ${FUZZ_SEED})`,
        );
      }
      at++;
    }
    if (fz.errors > 0) tally.record(`call failed: ${fz.errors} (${fz.lastError ?? ''})`);

    // The healthy stream after the batch: complete, in order.
    outputs.length = 0;
    const healthy = Array.from({ length: 200 }, (_, n) => `healthy-${n}`);
    for (const m of healthy) await operator.publishAsync(`fz/${node}/raw/temp`, m, { qos: 1 });
    await until('the healthy stream to come out', () => outputs.length >= healthy.length, 30_000);
    assert.deepEqual(
      outputs.map((o) => o.toString()),
      healthy,
    );
    await agent.assertAlive('after the healthy stream');
    tally.report((s) => t.diagnostic(s));
  });
});
