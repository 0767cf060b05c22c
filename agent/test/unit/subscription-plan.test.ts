// SPDX-License-Identifier: Apache-2.0
// The subscription plan that lets each reading run each function once (docs/adr/0024): filter
// algebra checked against topicMatches on generated topics, and the two plans' promises.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { topicMatches } from '@wasmfleet/api';
import {
  CONTROL_SUBSCRIPTION_ID,
  covers,
  designatedFilter,
  disjointPlan,
  generalize,
  identifiedPlan,
  overlaps,
  subscriptionId,
  type Qos,
} from '../../src/mqtt/subscription-plan.ts';

const level = fc.constantFrom('a', 'b', 'c', '$s');
const topic = fc.array(level, { minLength: 1, maxLength: 4 }).map((l) => l.join('/'));
const filter = fc
  .tuple(fc.array(fc.constantFrom('a', 'b', '+'), { minLength: 1, maxLength: 4 }), fc.boolean())
  .map(([levels, hash]) => (hash ? [...levels.slice(0, -1), '#'] : levels).join('/'));
/** Every topic the generators can make: enough to decide covers/overlaps by brute force. */
const ALL_TOPICS = (() => {
  const out: string[] = [];
  const grow = (prefix: string[]): void => {
    if (prefix.length > 0) out.push(prefix.join('/'));
    if (prefix.length < 5) for (const l of ['a', 'b', 'c', '$s']) grow([...prefix, l]);
  };
  grow([]);
  return out;
})();

describe('subscription plan', () => {
  it('covers and overlaps agree with topicMatches on every topic', () => {
    fc.assert(
      fc.property(filter, filter, (x, y) => {
        const matchX = ALL_TOPICS.filter((t) => topicMatches(x, t));
        const matchY = new Set(ALL_TOPICS.filter((t) => topicMatches(y, t)));
        assert.equal(
          covers(x, y),
          [...matchY].every((t) => topicMatches(x, t)),
          `covers(${x}, ${y})`,
        );
        assert.equal(
          overlaps(x, y),
          matchX.some((t) => matchY.has(t)),
          `overlaps(${x}, ${y})`,
        );
        const g = generalize(x, y);
        assert.ok(covers(g, x) && covers(g, y), `generalize(${x}, ${y}) = ${g} covers both`);
      }),
      { numRuns: 500 },
    );
  });

  it('a disjoint plan holds no two overlapping filters, covers every wanted one, with its QoS', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(filter, fc.constantFrom<Qos>(0, 1)), { selector: ([f]) => f, maxLength: 6 }),
        topic,
        (entries, t) => {
          const wanted = new Map(entries);
          const plan = disjointPlan(wanted);
          const held = [...plan.keys()];
          for (const a of held) for (const b of held) if (a !== b) assert.ok(!overlaps(a, b), `${a} / ${b}`);
          for (const [f, qos] of wanted) {
            const by = held.find((h) => covers(h, f));
            assert.ok(by !== undefined, `${f} is covered`);
            assert.ok((plan.get(by)?.qos ?? 0) >= qos, `${f} keeps QoS ${qos}`);
          }
          // A topic any wanted filter matches arrives through exactly one held subscription.
          if ([...wanted.keys()].some((f) => topicMatches(f, t)))
            assert.equal(held.filter((h) => topicMatches(h, t)).length, 1);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('keeps the issue’s filters apart only where it must', () => {
    const node = 'sensors/dev-sensor-1';
    const plan = disjointPlan(
      new Map<string, Qos>([
        [`${node}/+`, 0],
        [`${node}/probe`, 1],
      ]),
    );
    assert.deepEqual([...plan], [[`${node}/+`, { qos: 1 }]]);
    assert.deepEqual(
      [
        ...disjointPlan(
          new Map<string, Qos>([
            ['sensors/+/probe', 1],
            [`${node}/+`, 1],
          ]),
        ).keys(),
      ],
      ['sensors/+/+'],
    );
    // A merged filter the broker refused: the inputs are held one by one.
    assert.deepEqual(
      [
        ...disjointPlan(
          new Map<string, Qos>([
            ['sensors/+/probe', 1],
            [`${node}/+`, 1],
          ]),
          new Set(['sensors/+/+']),
        ).keys(),
      ],
      ['sensors/+/probe', `${node}/+`],
    );
  });

  it('identifies each filter by the filter alone, never with the control subscription’s identifier', () => {
    const a = identifiedPlan(new Map<string, Qos>([['sensors/d/+', 1]]));
    const b = identifiedPlan(
      new Map<string, Qos>([
        ['x/#', 0],
        ['sensors/d/+', 1],
      ]),
    );
    assert.equal(a.get('sensors/d/+')?.id, b.get('sensors/d/+')?.id);
    assert.equal(a.get('sensors/d/+')?.id, subscriptionId('sensors/d/+'));
    fc.assert(
      fc.property(fc.uniqueArray(fc.string({ minLength: 1 }), { maxLength: 20 }), (filters) => {
        const ids = [...identifiedPlan(new Map(filters.map((f) => [f, 0 as const]))).values()].map(
          (h) => h.id,
        );
        assert.equal(new Set(ids).size, ids.length);
        for (const id of ids)
          assert.ok(id !== undefined && id > CONTROL_SUBSCRIPTION_ID && id <= 268_435_455);
      }),
    );
  });

  it('designates an earlier revision’s filter while the broker may still send its copies', () => {
    const matches = (f: string): boolean => topicMatches(f, 'sensors/d/probe');
    assert.equal(designatedFilter([], ['sensors/d/+', 'sensors/d/probe'], matches), 'sensors/d/+');
    assert.equal(designatedFilter(['sensors/d/probe'], ['sensors/d/+'], matches), 'sensors/d/probe');
    assert.equal(designatedFilter(['other/#'], ['sensors/d/+'], matches), 'sensors/d/+');
    assert.equal(designatedFilter([], ['other/#'], matches), undefined);
  });
});
