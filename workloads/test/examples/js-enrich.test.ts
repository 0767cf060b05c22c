// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Harness, loadExample } from '../helpers/harness.ts';

interface Enriched {
  site: string;
  seq: number;
  records: { n: string; u?: string; v: number; t: number }[];
}

describe('js-enrich example (JavaScript component, jco componentize)', () => {
  let fn: Harness;
  before(async () => {
    fn = await loadExample('js-enrich', { config: { SITE: 'plant-1' }, memoryBytes: 64 * 1024 * 1024 });
  });
  after(() => fn.close());

  it('is a component and normalises units to Celsius', async () => {
    assert.equal(fn.fn.kind, 'component');
    const pack = JSON.stringify([
      { bn: 'dev1/', bt: 1000, n: 'temperature', u: 'degF', v: 212 },
      { n: 'probe', u: 'K', v: 273.15, t: 2 },
      { n: 'humidity', u: '%RH', v: 40 },
      { n: 'label', vs: 'text' },
    ]);
    const [out] = (await fn.json(pack)) as Enriched[];
    assert.deepEqual(out, {
      site: 'plant-1',
      seq: 1,
      records: [
        { n: 'dev1/temperature', t: 1000, u: 'Cel', v: 100 },
        { n: 'dev1/probe', t: 1002, u: 'Cel', v: 0 },
        { n: 'dev1/humidity', t: 1000, u: '%RH', v: 40 },
      ],
    });
  });

  it('numbers its outputs with a per-device sequence kept in state', async () => {
    const [out] = (await fn.json('[{"n":"t","u":"Cel","v":1}]')) as Enriched[];
    assert.equal(out?.seq, 2);
    assert.deepEqual(fn.state.get('seq'), new TextEncoder().encode('2'));
  });

  it('reports malformed input as the call error and emits nothing without readings', async () => {
    assert.deepEqual(await fn.json('[{"n":"label","vs":"x"}]'), []);
    assert.match(await fn.fails('{"n":"x"}'), /JSON array/);
    assert.match(await fn.fails('not json'), /JSON|Unexpected|token/i);
  });
});
