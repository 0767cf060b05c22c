// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EXAMPLES_DIR } from '../../src/examples.ts';
import { mlpPredictBatch, parseModelHeader } from '../../src/kernels.ts';
import { type Harness, loadExample } from '../helpers/harness.ts';

interface TestSet {
  classes: string[];
  testAccuracy: number;
  x: number[][];
  y: number[];
  predicted: number[];
}

describe('ml-inference example (C, embedded MLP)', () => {
  let fn: Harness;
  let set: TestSet;
  before(async () => {
    fn = await loadExample('ml-inference');
    set = JSON.parse(
      await readFile(path.join(EXAMPLES_DIR, 'ml-inference', 'test-set.json'), 'utf8'),
    ) as TestSet;
  });
  after(() => fn.close());

  it('reaches the accuracy train.py reports on the held-out test set', async () => {
    let correct = 0;
    let agree = 0;
    for (const [i, x] of set.x.entries()) {
      const [out] = (await fn.json(JSON.stringify({ features: x }))) as {
        class: string;
        index: number;
        probabilities: number[];
      }[];
      assert.ok(out);
      assert.equal(out.class, set.classes[out.index]);
      assert.ok(Math.abs(out.probabilities.reduce((a, b) => a + b, 0) - 1) < 0.01);
      if (out.index === set.y[i]) correct++;
      if (out.index === set.predicted[i]) agree++;
    }
    const accuracy = correct / set.x.length;
    assert.ok(
      Math.abs(accuracy - set.testAccuracy) <= 0.005,
      `accuracy ${accuracy} vs ${set.testAccuracy} from train.py`,
    );
    assert.ok(agree / set.x.length >= 0.99, `agrees with the Python model on ${agree}/${set.x.length}`);
    assert.ok(accuracy > 0.95);
  });

  it('matches the JS twin of the kernel bit for bit', async () => {
    const model = parseModelHeader(
      await readFile(path.join(EXAMPLES_DIR, 'ml-inference', 'model.h'), 'utf8'),
    );
    const n = 100;
    const classes = new Int32Array(n);
    mlpPredictBatch(model, Float32Array.from(set.x.slice(0, n).flat()), n, classes);
    for (let i = 0; i < n; i++) {
      const [out] = (await fn.json(JSON.stringify(set.x[i]))) as { index: number }[];
      assert.equal(out?.index, classes[i], `vector ${i}`);
    }
  });

  it('honours MIN_CONFIDENCE and rejects bad feature vectors', async () => {
    const strict = await loadExample('ml-inference', { config: { MIN_CONFIDENCE: '1.01' } });
    try {
      assert.equal(
        ((await strict.json(JSON.stringify(set.x[0]))) as { class: string }[])[0]?.class,
        'uncertain',
      );
    } finally {
      await strict.close();
    }
    assert.match(await fn.fails('[1,2,3]'), /exactly 8/);
    assert.match(await fn.fails('{"features":[1,2,3,4,5,6,7,8,9]}'), /exactly 8/);
    assert.match(await fn.fails('{"features":"none"}'), /JSON array/);
    assert.match(await fn.fails('[1,2,x]'), /8 numeric|malformed/);
  });
});
