// SPDX-License-Identifier: Apache-2.0
// The agent's pure decoders at volume: input payload checks (raw/JSON/SenML), the desired-state
// parser, the reconcile plan and topic matching. None may throw on any input; each refusal is a
// verdict with a reason, and what they accept is what the contract says they accept.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  expandNode,
  functionKey,
  parseDesiredState,
  topicMatches,
  type DesiredFunction,
} from '@wasmfleet/api';
import { checkPayload, type PayloadFormat } from '../../agent/src/io/payload-check.ts';
import { plan } from '../../agent/src/reconcile/plan.ts';
import { REGRESSION_SEEDS, check, runs } from './support/budget.ts';
import { deepJson, invalidUtf8, mutateBytes, mutateJson, type Json } from './support/mutate.ts';
import { Tally } from './support/tally.ts';
import {
  validDesiredFunction,
  validDesiredState,
  validJson,
  validSenml,
} from './support/wire-arbitraries.ts';

const FORMATS: PayloadFormat[] = ['raw', 'json', 'senml'];
const enc = (v: Json): Uint8Array => Buffer.from(JSON.stringify(v));
const seeds = [undefined, ...REGRESSION_SEEDS];

/** Any payload a sensor (or an attacker) might send, tagged with what a reader must say. */
const payload = fc.oneof(
  fc.uint8Array({ maxLength: 256 }).map((b) => ({ bytes: b, json: undefined as boolean | undefined })),
  validJson.map((v) => ({ bytes: enc(v), json: true })),
  validSenml.chain((s) => mutateJson(s)).map((v) => ({ bytes: enc(v), json: true })),
  validSenml
    .map(enc)
    .chain(mutateBytes)
    .map((b) => ({ bytes: b, json: undefined })),
  invalidUtf8.map((b) => ({ bytes: b, json: false })),
  deepJson.map((b) => ({ bytes: b, json: undefined })),
);

describe('fuzz: agent wire decoders', () => {
  for (const seed of seeds) {
    const label = seed === undefined ? 'fresh seed' : `seed ${seed}`;
    const scale = seed === undefined ? 1 : 0.1;

    it(`checkPayload never throws and gives every refusal a reason (${label})`, async (t) => {
      const tally = new Tally('checkPayload', seed);
      await check(
        'checkPayload',
        fc.property(payload, fc.constantFrom(...FORMATS), ({ bytes, json }, format) => {
          const verdict = checkPayload(bytes, format);
          tally.record(verdict.ok ? undefined : verdict.problem);
          if (!verdict.ok) assert.match(verdict.problem, /\w{3,}/);
          if (format === 'raw') assert.equal(verdict.ok, bytes.length <= 256 * 1024);
          if (format === 'json' && json !== undefined && bytes.length <= 256 * 1024)
            assert.equal(
              verdict.ok,
              json,
              `JSON verdict for ${Buffer.from(bytes).toString('hex').slice(0, 80)}`,
            );
        }),
        { numRuns: runs(8000 * scale), ...(seed ? { seed } : {}) },
      );
      tally.report((s) => t.diagnostic(s));
    });

    it(`valid SenML is always accepted, in every encoding order (${label})`, async (t) => {
      const tally = new Tally('checkPayload senml valid', seed);
      await check(
        'senml valid',
        fc.property(validSenml, (pack) => {
          const verdict = checkPayload(enc(pack), 'senml');
          tally.record(verdict.ok ? undefined : verdict.problem);
          assert.ok(verdict.ok, `refused ${JSON.stringify(pack)}: ${verdict.ok ? '' : verdict.problem}`);
        }),
        { numRuns: runs(2000 * scale), ...(seed ? { seed } : {}) },
      );
      tally.report((s) => t.diagnostic(s));
    });

    it(`parseDesiredState never throws; refusals name the document (${label})`, async (t) => {
      const tally = new Tally('parseDesiredState', seed);
      const doc = fc.oneof(
        fc.uint8Array({ maxLength: 200 }),
        invalidUtf8,
        deepJson,
        validDesiredState('node-1').map((d) => enc(d as unknown as Json)),
        validDesiredState('node-1')
          .chain((d) => mutateJson(d as unknown as Json))
          .map(enc),
        validDesiredState('node-1')
          .map((d) => enc(d as unknown as Json))
          .chain(mutateBytes),
      );
      await check(
        'parseDesiredState',
        fc.property(doc, (bytes) => {
          const parsed = parseDesiredState(bytes);
          tally.record(parsed.ok ? undefined : parsed.errors.join('; '));
          if (parsed.ok) {
            assert.equal(parsed.value.version, 1);
            assert.ok(Number.isInteger(parsed.value.generation) && parsed.value.generation >= 0);
            for (const fn of parsed.value.functions) assert.ok(fn.inputs.length >= 1);
          } else {
            assert.ok(parsed.errors.length > 0);
            for (const e of parsed.errors) assert.match(e, /^desired state/);
          }
        }),
        { numRuns: runs(6000 * scale), ...(seed ? { seed } : {}) },
      );
      tally.report((s) => t.diagnostic(s));
    });

    it(`plan() converges and never loses or duplicates a function (${label})`, async (t) => {
      const tally = new Tally('reconcile plan', seed);
      const running = fc.array(
        fc.record({
          key: fc.constantFrom<string>('a/x', 'a/y', 'b/x', 'c/z'),
          revision: fc.constantFrom<string>('1', '2'),
        }),
        { maxLength: 5 },
      );
      const desired = fc.array(
        validDesiredFunction().chain((f) =>
          fc
            .record({ namespace: fc.constantFrom('a', 'b', 'c'), name: fc.constantFrom('x', 'y', 'z') })
            .map((id) => ({ ...f, ...id, revision: f.revision.length % 2 ? '1' : '2' })),
        ),
        { maxLength: 6 },
      );
      await check(
        'plan',
        fc.property(desired, running, (want: DesiredFunction[], have) => {
          tally.record();
          // What runs is unique per key in the agent; model that.
          const uniq = [...new Map(have.map((r) => [r.key, r])).values()];
          const p = plan(want, uniq);
          const started = [...p.start, ...p.replace].map(functionKey);
          assert.equal(new Set(started).size, started.length, 'a key is started or replaced twice');
          const wanted = new Set(want.map(functionKey));
          for (const k of p.stop) assert.ok(!wanted.has(k));
          // Applying the plan converges: a second plan is empty.
          const after = new Map(uniq.map((r) => [r.key, r.revision]));
          for (const k of p.stop) after.delete(k);
          for (const f of [...p.start, ...p.replace]) after.set(functionKey(f), f.revision);
          const again = plan(
            want,
            [...after].map(([key, revision]) => ({ key, revision })),
          );
          assert.deepEqual(again, { start: [], replace: [], stop: [] });
        }),
        { numRuns: runs(3000 * scale), ...(seed ? { seed } : {}) },
      );
      tally.report((s) => t.diagnostic(s));
    });

    it(`topicMatches agrees with a regular-expression reading of MQTT 5 §4.7 (${label})`, async (t) => {
      const tally = new Tally('topicMatches', seed);
      const level = fc.oneof(
        fc.constantFrom('a', 'b', '', '$SYS', '+', '#', 'ä', ' '),
        fc.string({ maxLength: 3 }),
      );
      const topicLevel = level.filter((l) => !l.includes('+') && !l.includes('#') && !l.includes('/'));
      const filter = fc
        .array(
          level.filter((l) => !l.includes('/')),
          { minLength: 1, maxLength: 5 },
        )
        .map((ls) => {
          const hash = ls.indexOf('#');
          return (hash >= 0 ? ls.slice(0, hash + 1) : ls).map((l) =>
            l.length > 1 && /[+#]/.test(l) ? 'x' : l,
          );
        });
      const topic = fc.array(topicLevel, { minLength: 1, maxLength: 5 });
      await check(
        'topicMatches',
        fc.property(filter, topic, (f, tp) => {
          tally.record();
          const fs = f.join('/');
          const ts = tp.join('/');
          assert.equal(topicMatches(fs, ts), reference(fs, ts), `${fs} vs ${ts}`);
        }),
        { numRuns: runs(8000 * scale), ...(seed ? { seed } : {}) },
      );
      tally.report((s) => t.diagnostic(s));
    });
  }

  it('expandNode refuses node ids that would change the topic structure', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), (node) => {
        try {
          const out = expandNode('s/{node}/t', node);
          assert.ok(
            !/[+#/]/.test(node) && !node.startsWith('$'),
            `accepted ${JSON.stringify(node)} → ${out}`,
          );
        } catch (error) {
          assert.match((error as Error).message, /invalid node id/);
        }
      }),
      { numRuns: runs(2000) },
    );
  });
});

/** MQTT topic matching as a regular expression (an independent reading of the spec). */
function reference(filter: string, topic: string): boolean {
  if (topic.startsWith('$') && /^[+#]/.test(filter)) return false;
  const levels = filter.split('/');
  let re = '';
  levels.forEach((l, i) => {
    if (l === '#') re += i === 0 ? '.*' : '(/.*)?';
    else re += (i === 0 ? '' : '/') + (l === '+' ? '[^/]*' : l.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  });
  return new RegExp(`^${re}$`, 's').test(topic);
}
