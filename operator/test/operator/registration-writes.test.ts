// SPDX-License-Identifier: Apache-2.0
// A registering fleet (ADR 0038): 10,000 devices did not finish registering because every
// registration also wrote a DeviceOnline Event (a third API write per device, uncapped, unseen by
// the write count) and every informer event cost a full reschedule. Registration is now the
// EdgeNode and its first status, with no Event; a device that really comes back after being
// Offline still gets its DeviceOffline and DeviceOnline Events.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EventsV1Api } from '@kubernetes/client-node';
import { waitFor } from '@wasmfleet/test-support';
import { startHarness, type Harness } from './harness.ts';

const DEVICES = 20;

describe('operator: a fleet registering', () => {
  let h: Harness;
  let events: EventsV1Api;
  const reasonsFor = async (names: ReadonlySet<string>): Promise<string[]> => {
    const list = await events.listNamespacedEvent({ namespace: 'default' });
    return list.items
      .filter((e) => e.regarding?.kind === 'EdgeNode' && names.has(e.regarding.name ?? ''))
      .map((e) => `${e.regarding?.name ?? ''} ${e.reason ?? ''}`);
  };

  before(async () => {
    h = await startHarness('op-register');
    events = h.kc.makeApiClient(EventsV1Api);
    await Promise.all(Array.from({ length: DEVICES }, (_, i) => h.device(`d${i}`, { heartbeatSeconds: 1 })));
  });
  after(() => h.close());

  it('every device that announces itself gets an Online EdgeNode in its fleet, and no Event each', async () => {
    const names = new Set(h.devices.map((d) => d.node));
    await waitFor(
      `${DEVICES} EdgeNodes Online`,
      async () => {
        const phases = await Promise.all(
          [...names].map(async (n) => (await h.node(n).catch(() => undefined))?.status?.phase),
        );
        return phases.every((p) => p === 'Online') ? true : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    for (const name of names) {
      const node = await h.node(name);
      assert.equal(node.metadata.labels?.['wasmfleet.io/auto-registered'], 'true');
      assert.equal(node.status?.conditions?.find((c) => c.type === 'Online')?.status, 'True');
    }
    assert.deepEqual(await reasonsFor(names), [], 'registration records no Event per device');
  });

  it('a device that goes Offline and comes back records DeviceOffline, then DeviceOnline', async () => {
    const device = h.devices[0];
    assert.ok(device);
    device.goSilent();
    await waitFor('Offline after missed heartbeats', async () =>
      (await h.node(device.node)).status?.phase === 'Offline' ? true : undefined,
    );
    await device.resume();
    await waitFor('Online again', async () =>
      (await h.node(device.node)).status?.phase === 'Online' ? true : undefined,
    );
    const reasons = await waitFor(
      'both Events',
      async () => {
        const seen = await reasonsFor(new Set([device.node]));
        return seen.length >= 2 ? seen : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 200 },
    );
    assert.deepEqual(reasons.sort(), [`${device.node} DeviceOffline`, `${device.node} DeviceOnline`]);
  });
});
