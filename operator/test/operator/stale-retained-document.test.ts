// SPDX-License-Identifier: Apache-2.0
// Regression: after a broker node was killed mid-rollout, a 3-node nats-server cluster kept an
// older desired document retained for a device (1 run in ~3 of the NATS cluster test): the
// device had the new one (delivered live) but a device that restarted or a node a device moved
// to would hand out the old one, and the operator, which had its PUBACK, never looked again.
// Now it reads the retained documents again a while after each reconnect and republishes one
// that is older than what the broker acknowledged (ADR 0055). Mosquitto does not lose writes, so
// another client puts the older document back right after the reconnect, where the operator sees
// it only as a forwarded message — what it cannot tell from a late echo until it reads again.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import { desiredTopic } from '@wasmfleet/api';
import { waitFor } from '@wasmfleet/test-support';
import { retainedDesired } from './broker-state.ts';
import { functionYaml, siteAlertSpec, startHarness, type Harness } from './harness.ts';

describe('operator: a retained desired document older than the broker acknowledged is republished', () => {
  let h: Harness;
  const log: string[] = [];
  before(async () => {
    h = await startHarness('op-stale-doc');
    await h.restartOperator({
      broker: { url: h.broker.url, syncQuietMs: 100, rereadAfterMs: 2_000 },
      log: (line: string) => log.push(line),
    });
    await h.moduleConfigMap('temp-module');
  });
  after(() => h.close());

  it('reads the documents again after a reconnect and puts the current one back, above both generations', async () => {
    const device = await h.device('d', { labels: { site: 'a' }, heartbeatSeconds: 1 });
    await h.apply(functionYaml('temp-alert', siteAlertSpec('30')));
    await h.waitForFunction('temp-alert', 'Ready 1/1', (f) => f.status?.ready === '1/1', 60_000);
    const first = device.desired();
    assert.ok(first);
    await h.apply(functionYaml('temp-alert', siteAlertSpec('40')));
    const updated = await h.waitForFunction(
      'temp-alert',
      'the update Ready',
      (f) => f.status?.ready === '1/1' && f.status.currentRevision !== first.functions[0]?.revision,
      60_000,
    );
    const current = updated.status?.currentRevision;
    assert.equal(device.desired()?.generation, 2);

    await h.broker.restart();
    await waitFor('the operator to reconnect', () =>
      log.some((l) => l.includes('reconnected to')) ? true : undefined,
    );
    // The older document back on the broker, as a node that lost the later write would hold it.
    const rogue = await mqtt.connectAsync(h.broker.url, { protocolVersion: 5, reconnectPeriod: 0 });
    await rogue.publishAsync(desiredTopic(device.node), JSON.stringify(first), { qos: 1, retain: true });
    await rogue.endAsync();

    const healed = await waitFor(
      'the broker to retain the current revision again',
      async () => {
        const doc = await retainedDesired(h.broker.url, device.node);
        return doc?.functions[0]?.revision === current ? doc : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    assert.ok(healed.generation > 2, `republished above generation 2 (got ${healed.generation})`);
    assert.ok(
      log.some((l) =>
        /holds generation 1 of the desired document of .* older than the 2 it acknowledged/.test(l),
      ),
      `the operator says what it found; log:\n${log.slice(-15).join('\n')}`,
    );
    await h.waitForFunction(
      'temp-alert',
      'Ready on the current revision',
      (f) => f.status?.ready === '1/1' && f.status.currentRevision === current,
    );
  });
});
