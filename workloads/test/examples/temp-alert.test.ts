// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Harness, loadExample } from '../helpers/harness.ts';

const senml = (v: number, t = 1): string =>
  JSON.stringify([{ bn: 'dev1/', bt: 1_700_000_000, n: 'temperature', u: 'Cel', v, t }]);

describe('temp-alert example (AssemblyScript, SenML)', () => {
  let fn: Harness;
  before(async () => {
    fn = await loadExample('temp-alert', { config: { THRESHOLD: '30', HYSTERESIS: '2' } });
  });
  after(() => fn.close());

  it('alerts once when the threshold is crossed, then clears with hysteresis', async () => {
    assert.deepEqual(await fn.json(senml(25)), []);
    assert.deepEqual(await fn.json(senml(31.5, 2)), [
      {
        alert: 'high',
        sensor: 'dev1/temperature',
        value: 31.5,
        threshold: 30,
        unit: 'Cel',
        t: 1_700_000_002,
      },
    ]);
    assert.deepEqual(await fn.json(senml(33)), [], 'still hot: no repeated alert');
    assert.deepEqual(await fn.json(senml(29)), [], 'inside the hysteresis band');
    const [clear] = (await fn.json(senml(27.5))) as { alert: string; value: number }[];
    assert.equal(clear?.alert, 'clear');
    assert.equal(clear.value, 27.5);
    assert.ok(fn.logs.some((l) => l.level === 'warn' && l.text.includes('dev1/temperature is 31.5')));
  });

  it('judges every matching record of a pack and ignores other sensors', async () => {
    const pack = JSON.stringify([
      { bn: 'hall/', n: 'humidity', v: 99 },
      { n: 'a/temperature', v: 40, t: 5 },
      { n: 'b/temperature', v: 20 },
      { n: 'c/temperature', vs: 'n/a' },
    ]);
    const out = (await fn.json(pack)) as { sensor: string }[];
    assert.deepEqual(
      out.map((o) => o.sensor),
      ['hall/a/temperature'],
    );
  });

  it('uses the SENSOR config and rejects malformed SenML', async () => {
    const custom = await loadExample('temp-alert', { config: { SENSOR: 'oil', THRESHOLD: '90' } });
    try {
      assert.equal((await custom.json('[{"n":"pump/oil","v":95}]')).length, 1);
      assert.match(await custom.fails('{"n":"x"}'), /JSON array/);
      assert.match(await custom.fails('[{"n":"x","v":}]'), /malformed/);
    } finally {
      await custom.close();
    }
  });
});
