// SPDX-License-Identifier: Apache-2.0
// Regression: a desired document the broker did not acknowledge was never published again. The
// reconcile failed and was retried, but the retry found the assignment already recorded, so it
// published nothing, and the broker kept the previous document until the next change. Seen on a
// 3-node nats-server cluster that could not store a retained message while it re-elected after
// losing a node (2 of 5 runs of the NATS cluster test). Here Mosquitto refuses the update (its
// ACL denies the topic: PUBACK "not authorized"), then is told to allow it again (ADR 0055).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { desiredTopic } from '@wasmfleet/api';
import { waitFor } from '@wasmfleet/test-support';
import { brokerAcl, type BrokerAcl } from './broker-state.ts';
import { functionYaml, siteAlertSpec, startHarness, type Harness } from './harness.ts';

describe('operator: a desired document the broker did not acknowledge is published again', () => {
  let h: Harness;
  let acl: BrokerAcl;
  const log: string[] = [];
  const setAcl = (lines: string[]) => acl.set(h.broker.pid, lines);
  before(async () => {
    acl = await brokerAcl('op-unacked');
    h = await startHarness(
      'op-unacked',
      { settings: { publishTimeoutMs: 2_000 }, log: (line: string) => log.push(line) },
      { extraConfig: acl.extraConfig },
    );
    await h.moduleConfigMap('temp-module');
  });
  after(() => h.close());

  it('delivers the update once the broker accepts it, though the first publish of it was refused', async () => {
    const device = await h.device('d', { labels: { site: 'a' }, heartbeatSeconds: 1 });
    await h.apply(functionYaml('temp-alert', siteAlertSpec('30')));
    const first = await h.waitForFunction(
      'temp-alert',
      'Ready 1/1',
      (f) => f.status?.ready === '1/1',
      60_000,
    );
    await setAcl(['topic readwrite #', `topic deny ${desiredTopic(device.node)}`]);
    await h.apply(functionYaml('temp-alert', siteAlertSpec('40')));
    await waitFor('the broker to refuse the update', () =>
      log.some((l) => l.includes('reconcile failed') && l.includes('Not authorized')) ? true : undefined,
    ).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}; log:\n${log.slice(-10).join('\n')}`, { cause: error });
    });
    await setAcl(['topic readwrite #']);
    const done = await h.waitForFunction(
      'temp-alert',
      'the update Ready on the device',
      (f) =>
        f.status?.ready === '1/1' &&
        f.status.currentRevision === f.status.updateRevision &&
        f.status.currentRevision !== first.status?.currentRevision,
      60_000,
    );
    assert.equal(device.desired()?.functions[0]?.revision, done.status?.currentRevision);
    assert.equal(device.desired()?.functions[0]?.config.THRESHOLD, '40');
  });
});
