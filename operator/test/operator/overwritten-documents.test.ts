// SPDX-License-Identifier: Apache-2.0
// Regression (found by test/faults/leader-freeze.test.ts before write fencing): a leader thawed
// after SIGSTOP published stale desired documents over the new leader's, and the new leader
// never noticed — it compared only documents whose assignment changed, so the rollout stayed
// stuck. Whoever overwrites a device's retained document (a deposed leader, a stray client),
// the operator sees the foreign document come back from the broker and republishes its own,
// with a generation above both, so an agent that ignores older generations still takes it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import { desiredTopic } from '@wasmfleet/api';
import { waitFor } from '@wasmfleet/test-support';
import { canonicalJson } from '../../src/fleet/revision-hash.ts';
import { functionYaml, startHarness, type Harness } from './harness.ts';

describe('a device document overwritten by another client', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness('op-overwritten');
    await h.moduleConfigMap('mod');
    await h.device('a', { labels: { site: 'x' } });
    await h.device('b', { labels: { site: 'x' } });
  });
  after(() => h.close());

  it('is republished by the operator, newer than both, and the other device is not touched', async () => {
    await h.apply(
      functionYaml('f', {
        module: { configMap: { name: 'mod', key: 'module.wasm' } },
        placement: { nodeSelector: { matchLabels: { site: 'x' } } },
        inputs: [{ topic: 'in/{node}' }],
      }),
    );
    await h.waitForFunction('f', 'Ready 2/2', (f) => f.status?.ready === '2/2');
    const [a, b] = h.devices;
    assert.ok(a && b);
    const good = a.desired();
    assert.ok(good);
    const receivedByB = b.received.length;

    // A deposed leader's stale document: an older generation that runs nothing.
    const intruder = await mqtt.connectAsync(h.broker.url, { clientId: 'deposed-leader' });
    const stale = { ...good, generation: good.generation - 1 < 1 ? 1 : good.generation - 1, functions: [] };
    await intruder.publishAsync(desiredTopic(a.node), JSON.stringify(stale), { qos: 1, retain: true });
    await intruder.endAsync();

    const repaired = await waitFor(
      'the operator to republish the overwritten document',
      () => {
        const last = a.desired();
        return last && last.functions.length === 1 && last.generation > good.generation ? last : undefined;
      },
      { timeoutMs: 20_000 },
    );
    assert.equal(canonicalJson(repaired.functions), canonicalJson(good.functions));
    assert.ok(
      a.received.some((d) => d.functions.length === 0),
      'the stale document did reach the device',
    );
    await h.waitForFunction('f', 'Ready 2/2 again', (f) => f.status?.ready === '2/2');
    assert.equal(b.received.length, receivedByB, 'the other device got nothing new');
  });
});
