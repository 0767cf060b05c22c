// SPDX-License-Identifier: Apache-2.0
// Desired-state documents published to a real agent's desired topic: arbitrary bytes, mutations
// of valid documents, documents for other nodes, stale generations, and schema-valid documents
// with odd contents (wildcard or reserved topics, extreme limits, unknown modules). The agent must
// never crash, must log a clear refusal for every invalid document, and once the good document is
// back it must run and serve its function again.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { MqttClient } from 'mqtt';
import { desiredTopic, parseDesiredState, type DesiredFunction, type DesiredState } from '@wasmfleet/api';
import { startMosquitto, uniqueName, type Mosquitto } from '@wasmfleet/test-support';
import {
  collect,
  connect,
  fnSpec,
  fnStatus,
  publishModule,
  until,
  waitForStatus,
} from '../../agent/test/helpers/fleet.ts';
import { fixture } from '../../agent/test/helpers/wasm.ts';
import { FUZZ_SEED, runs } from './support/budget.ts';
import { startLiveAgent, type LiveAgent } from './support/live-agent.ts';
import { deepJson, invalidUtf8, mutateBytes, mutateJson, oddValue, type Json } from './support/mutate.ts';
import { Tally } from './support/tally.ts';
import { validDesiredState } from './support/wire-arbitraries.ts';

let broker: Mosquitto;
let operator: MqttClient;
let agent: LiveAgent;
let keep: DesiredFunction;
/** Everything the healthy function 'keep' published. */
let sink: string[];
const node = uniqueName('fuzz-desired');
/** The highest generation the agent has been sent (a fuzzed document may carry a huge one). */
let generation = 1;
const enc = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));

/** Schema-valid twists of the node's good document: these the agent applies. */
function oddButValid(good: DesiredState): fc.Arbitrary<DesiredState> {
  const fn = good.functions[0] as DesiredFunction;
  const topic = fc.constantFrom(
    'sensors/{node}/odd',
    'out/{node}/odd',
    '#',
    '+',
    'a/#/b',
    'a/+b',
    '$SYS/#',
    'wasmfleet/v1/nodes/+/desired',
    '{node}',
    'x'.repeat(1024),
    'out/+/x',
    '/',
  );
  return fc
    .record({
      inputTopic: topic,
      outputTopic: topic,
      format: fc.constantFrom('raw' as const, 'json' as const, 'senml' as const),
      memoryBytes: fc.constantFrom(65_536, 4 * 1024 ** 3, 16 * 1024 * 1024),
      timeoutMs: fc.constantFrom(1, 60_000),
      maxPayloadBytes: fc.constantFrom(1, 1024 * 1024),
      maxModuleBytes: fc.constantFrom(8, 1 << 30),
      sha: fc.option(fc.stringMatching(/^[a-f0-9]{64}$/), { nil: undefined }),
      config: fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }),
      count: fc.integer({ min: 1, max: 3 }),
    })
    .map((o) => ({
      ...good,
      generation: good.generation + 1,
      functions: Array.from({ length: o.count }, (_, i) => ({
        ...fn,
        name: i === 0 ? `${fn.name}-odd` : `${fn.name}-odd${i}`,
        revision: `odd-${i}`,
        module: o.sha ? { sha256: o.sha, size: 100 } : fn.module,
        inputs: [{ topic: o.inputTopic, qos: 1 as const, format: o.format }],
        outputs: [{ topic: o.outputTopic, qos: 1 as const, retain: false }],
        config: o.config,
        limits: {
          memoryBytes: o.memoryBytes,
          timeoutMs: o.timeoutMs,
          maxPayloadBytes: o.maxPayloadBytes,
          maxModuleBytes: o.maxModuleBytes,
        },
      })),
    }));
}

function documents(good: DesiredState): fc.Arbitrary<{ kind: string; bytes: Buffer }> {
  const json = good as unknown as Json;
  return fc.oneof(
    fc.uint8Array({ minLength: 1, maxLength: 200 }).map((b) => ({ kind: 'bytes', bytes: Buffer.from(b) })),
    invalidUtf8.map((b) => ({ kind: 'utf8', bytes: Buffer.from(b) })),
    deepJson.map((b) => ({ kind: 'deep', bytes: Buffer.from(b) })),
    mutateJson(json).map((v) => ({ kind: 'mutated', bytes: enc(v) })),
    mutateBytes(enc(json)).map((b) => ({ kind: 'mutated-bytes', bytes: Buffer.from(b) })),
    oddValue.map((v) => ({ kind: 'odd', bytes: enc(v) })),
    validDesiredState('someone-else').map((d) => ({ kind: 'other-node', bytes: enc(d) })),
    oddButValid(good).map((d) => ({ kind: 'odd-valid', bytes: enc(d) })),
  );
}

describe('fuzz: desired documents into a running agent', () => {
  before(async () => {
    broker = await startMosquitto();
    operator = await connect(broker.url);
    agent = await startLiveAgent(broker.url, node);
    const echo = await fixture('healthy/echo.wat');
    await publishModule(operator, echo);
    keep = fnSpec('keep', echo);
    sink = await collect(operator, `out/${node}/keep`);
  });
  after(async () => {
    await agent.stop();
    await operator.endAsync();
    await broker.dispose();
  });

  it('never crashes, refuses invalid documents with a reason, and converges on the good one again', async (t) => {
    const tally = new Tally('agent desired documents');
    const good = (): DesiredState => ({ version: 1, node, generation, functions: [keep] });
    const publish = (bytes: Buffer) =>
      operator.publishAsync(desiredTopic(node), bytes, { qos: 1, retain: true });
    const serving = async (what: string): Promise<void> => {
      await publish(enc(good()));
      await waitForStatus(
        operator,
        node,
        (s) =>
          s.observedGeneration === generation &&
          fnStatus(s, 'keep')?.phase === 'Running' &&
          s.functions?.length === 1,
        30_000,
      ).catch(async (error: unknown) => {
        await agent.assertAlive(what);
        throw new Error(`seed ${FUZZ_SEED}: the agent did not converge on the good document ${what}`, {
          cause: error,
        });
      });
      const probe = `probe-${generation}`;
      await operator.publishAsync(`sensors/${node}/keep`, probe, { qos: 1 });
      await until(`${probe} to be echoed ${what}`, () => sink.includes(probe), 15_000);
    };
    await serving('at the start');

    const batch = fc.sample(documents(good()), { numRuns: runs(150), seed: FUZZ_SEED });
    let invalid = 0;
    for (const [n, doc] of batch.entries()) {
      const parsed = parseDesiredState(doc.bytes);
      // An empty retained message clears the topic; the agent rightly ignores it without a word.
      if (!parsed.ok && doc.bytes.length > 0) invalid++;
      tally.record(
        parsed.ok
          ? parsed.value.node === node
            ? undefined
            : 'another node'
          : `${doc.kind}: ${parsed.errors[0] ?? ''}`,
      );
      if (parsed.ok && parsed.value.node === node) generation = Math.max(generation, parsed.value.generation);
      await publish(doc.bytes);
      // Every so often, make sure the agent still serves (and let it work through what it got).
      if (n % 25 === 24) {
        generation++;
        await serving(`after document ${n} (${doc.kind})`);
      }
    }
    generation++;
    await serving('after the whole batch');
    await agent.assertAlive('after the batch');

    const refusals = (await agent.log())
      .split('\n')
      .filter((l) => l.includes('refusing the desired state: desired state'));
    assert.equal(
      refusals.length,
      invalid,
      `every invalid document logged with its reason (seed ${FUZZ_SEED})`,
    );
    tally.report((s) => t.diagnostic(s));
  });

  it('applies schema-valid odd documents function by function: each runs or fails with a reason, the session stays up', async (t) => {
    const tally = new Tally('agent odd valid documents');
    const docs = fc.sample(oddButValid({ version: 1, node, generation: 0, functions: [keep] }), {
      numRuns: runs(16),
      seed: FUZZ_SEED,
    });
    for (const doc of docs) {
      generation++;
      await operator.publishAsync(
        desiredTopic(node),
        enc({ ...doc, generation, functions: [keep, ...doc.functions] }),
        {
          qos: 1,
          retain: true,
        },
      );
      const settled = await waitForStatus(
        operator,
        node,
        (s) =>
          s.observedGeneration === generation &&
          s.functions?.length === doc.functions.length + 1 &&
          s.functions.every((f) => f.phase !== 'Pending' && f.phase !== 'Starting'),
        // A function whose module never arrives holds the agent's reconcile for the fetch timeout
        // (30 s) before the next document is applied; see docs/reliability.md, "left alone".
        60_000,
      ).catch(async (error: unknown) => {
        await agent.assertAlive(`applying ${JSON.stringify(doc.functions[0]?.outputs)}`);
        throw error;
      });
      for (const f of settled.functions ?? []) {
        tally.record(
          f.phase === 'Running' ? undefined : `${f.phase}: ${f.reason ?? '?'}: ${f.message ?? ''}`,
        );
        if (f.phase === 'Failed' || f.phase === 'CrashLoopBackOff')
          assert.ok(f.reason && f.message, `${f.name} is ${f.phase} without a reason: ${JSON.stringify(f)}`);
      }
      // Feed every input filter a message, then the healthy function must still answer.
      for (const fn of doc.functions) {
        for (const i of fn.inputs) {
          const topic = i.topic.replaceAll('{node}', node).replaceAll('+', 'p').replaceAll('#', 'q');
          if (!topic.startsWith('$') && !topic.startsWith('wasmfleet/'))
            await operator.publishAsync(topic, '[{"n":"x","v":1}]', { qos: 1 });
        }
      }
      await operator.publishAsync(`sensors/${node}/keep`, `odd-${generation}`, { qos: 1 });
      await until(
        `the healthy function to answer beside ${JSON.stringify(doc.functions[0]?.inputs)} → ${JSON.stringify(doc.functions[0]?.outputs)}`,
        () => sink.includes(`odd-${generation}`),
        15_000,
      );
      await agent.assertAlive('after an odd valid document');
    }
    assert.doesNotMatch(await broker.log(), new RegExp(`${node} disconnected due to protocol error`));
    tally.report((s) => t.diagnostic(s));
  });
});
