// SPDX-License-Identifier: Apache-2.0
// Regression: a device online whose desired document the broker never delivered stayed Pending
// for good. A 3-node nats-server cluster did this to 1 device in ~16 runs of the NATS cluster
// test (the document was retained on every node, the device's status never confirmed it, and
// nothing ever sent it again because it never changed). The operator now sends a document again
// to a device that stays online without confirming it (fleet/delivery-watch.ts). Here the device
// ignores the first delivery itself, on the real Mosquitto and the real operator.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { functionYaml, siteAlertSpec, startHarness, type Harness } from './harness.ts';

describe('operator: a desired document the device never got is sent again', () => {
  let h: Harness;
  const log: string[] = [];
  before(async () => {
    h = await startHarness('op-lost-doc', {
      settings: { desiredResendMs: 1_000 },
      log: (line: string) => log.push(line),
    });
    await h.moduleConfigMap('temp-module');
  });
  after(() => h.close());

  it('reaches Ready on a device that missed its first document, and says why in the log', async () => {
    const lossy = await h.device('lossy', {
      labels: { site: 'a' },
      sensors: ['temperature'],
      heartbeatSeconds: 1,
      missDesired: 1,
    });
    const fine = await h.device('fine', {
      labels: { site: 'a' },
      sensors: ['temperature'],
      heartbeatSeconds: 1,
    });
    await h.apply(functionYaml('temp-alert', siteAlertSpec()));
    const fn = await h.waitForFunction('temp-alert', 'Ready 2/2', (f) => f.status?.ready === '2/2', 60_000);
    assert.equal(fn.status?.phase, 'Ready');
    assert.deepEqual(
      lossy.received.map((d) => d.generation),
      [1],
      'the lossy device got generation 1 once it was sent again (the first delivery was dropped)',
    );
    assert.equal(fine.received.length, 1, 'a device that confirmed its document is not sent it again');
    const warning = log.find((l) => l.includes(`${lossy.node} has been online`));
    assert.ok(warning, `a warning names the device; log:\n${log.slice(-20).join('\n')}`);
    assert.match(warning, /without confirming its desired document \(generation 1\); sending it again/);
    const resends = await h.operator.metrics.registry.getSingleMetricAsString(
      'wasmfleet_desired_resends_total',
    );
    assert.match(resends, /wasmfleet_desired_resends_total [1-9]/);
  });
});
