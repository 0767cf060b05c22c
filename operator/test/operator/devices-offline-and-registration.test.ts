// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '@wasmfleet/test-support';
import { functionYaml, startHarness, type Harness } from './harness.ts';

const placement = (extra: Record<string, unknown>) => ({
  module: { configMap: { name: 'mod', key: 'module.wasm' } },
  placement: { nodeSelector: { matchLabels: { zone: 'z' } }, ...extra },
  inputs: [{ topic: 'in/{node}' }],
});

describe('operator: offline devices', () => {
  let h: Harness;
  let crashed = ''; // the device the first test crashes
  before(async () => {
    h = await startHarness('op-offline', { scheduler: { replicaGracePeriodMs: 1500 } });
    await h.moduleConfigMap('mod');
    for (const name of ['a', 'b', 'c']) await h.device(name, { labels: { zone: 'z' }, heartbeatSeconds: 1 });
    await h.apply(functionYaml('every', placement({ mode: 'Every' })));
    await h.apply(functionYaml('one', placement({ mode: 'Replicas', replicas: 1 })));
    await h.waitForFunction('every', 'Ready 3/3', (f) => f.status?.ready === '3/3');
    await h.waitForFunction('one', 'Ready 1/1', (f) => f.status?.ready === '1/1');
  });
  after(() => h.close());

  it('marks a crashed device Offline from its last will', async () => {
    const fn = await h.fn('one');
    const holder = fn.status?.nodes?.[0]?.node ?? '';
    const device = h.devices.find((d) => d.node === holder)!;
    await device.crash();
    crashed = holder;
    const node = await waitFor('Offline', async () => {
      const n = await h.node(holder);
      return n.status?.phase === 'Offline' ? n : undefined;
    });
    assert.equal(node.status?.conditions?.find((c) => c.type === 'Online')?.reason, 'AgentDisconnected');
  });

  it('Every keeps its assignment on the offline device (edge autonomy); Replicas moves after the grace period', async () => {
    const every = await h.fn('every');
    assert.equal(every.status?.desiredNodes, 3, 'the offline device keeps its Every assignment');
    const moved = await h.waitForFunction('one', 'moved to an online device', (f) => {
      const n = f.status?.nodes?.[0];
      // Not the crashed device's old row, which a status written before the move still shows
      // (regression: read at once, before the reconcile a report wakes, ADR 0045).
      return (
        f.status?.ready === '1/1' &&
        n !== undefined &&
        n.node !== crashed &&
        h.devices.some((d) => d.node === n.node && d.desired() !== undefined)
      );
    });
    const holder = moved.status?.nodes?.[0]?.node ?? '';
    const nodeNow = await h.node(holder);
    assert.equal(nodeNow.status?.phase, 'Online');
  });

  it('marks a silent device Offline after missed heartbeats, and Online again when it returns', async () => {
    // Any device still online (the first test crashed one of them).
    const phases = await Promise.all(h.devices.map(async (d) => (await h.node(d.node)).status?.phase));
    const device = h.devices[phases.indexOf('Online')]!;
    device.goSilent();
    const node = await waitFor(
      'Offline after 3 missed 1 s heartbeats',
      async () => {
        const n = await h.node(device.node);
        return n.status?.phase === 'Offline' ? n : undefined;
      },
      { timeoutMs: 15_000 },
    );
    assert.equal(node.status?.conditions?.find((c) => c.type === 'Online')?.reason, 'HeartbeatMissed');
    await device.resume();
    await waitFor('Online again', async () =>
      (await h.node(device.node)).status?.phase === 'Online' ? true : undefined,
    );
  });

  it('brings a device back Online when the heartbeats a cut link held back arrive late, before fresh ones', async () => {
    // Regression (link-flap fault test, ADR 0041): a link cut without closing the connection
    // holds the agent's heartbeats back and TCP delivers them seconds late once it heals. The
    // first, already overdue, counted as the device's return; the reconcile it caused found it
    // still stale and kept the EdgeNode Offline, and the fresh heartbeats behind it changed
    // nothing else, so they woke nothing: Offline for good while the device reported every second.
    const device = await h.device('late', { labels: { zone: 'elsewhere' }, heartbeatSeconds: 1 });
    await waitFor('Online', async () =>
      (await h.node(device.node)).status?.phase === 'Online' ? true : undefined,
    );
    device.goSilent();
    await waitFor(
      'Offline after 3 missed 1 s heartbeats',
      async () => ((await h.node(device.node)).status?.phase === 'Offline' ? true : undefined),
      { timeoutMs: 15_000 },
    );
    // The link heals: a heartbeat from the outage arrives, and the operator has time to act on it.
    await device.publishStatus(new Date(Date.now() - 10_000));
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await device.resume();
    const node = await waitFor(
      'Online once fresh heartbeats follow the late one',
      async () => {
        const n = await h.node(device.node);
        return n.status?.phase === 'Online' ? n : undefined;
      },
      { timeoutMs: 15_000 },
    );
    assert.equal(node.status?.conditions?.find((c) => c.type === 'Online')?.reason, 'HeartbeatReceived');
  });
});

describe('operator: auto-registration off', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness('op-noreg', { settings: { autoRegister: false } });
  });
  after(() => h.close());

  it('does not create an EdgeNode for an unknown device, and reports it as an Event and a metric', async () => {
    const name = h.nodeName('stranger');
    await h.device('stranger');
    await waitFor('the UnknownDevice event', async () => {
      const r = await h.plane.kubectl([
        'get',
        'events.events.k8s.io',
        '-A',
        '--field-selector',
        `regarding.name=${name}`,
        '-o',
        'jsonpath={.items[*].reason}',
      ]);
      return r.stdout.includes('UnknownDevice') ? true : undefined;
    });
    const got = await h.plane.kubectl(['get', 'edgenode', name]);
    assert.match(got.stderr, /NotFound/);
    assert.ok(
      (await h.operator.metrics.registry.getSingleMetricAsString('wasmfleet_unknown_devices_total')).match(
        / [1-9]\d*$/m,
      ),
    );
  });

  it('serves a pre-created EdgeNode', async () => {
    const d = await h.device('known', { labels: { zone: 'z' } });
    await waitFor('Online', async () =>
      (await h.node(d.node)).status?.phase === 'Online' ? true : undefined,
    );
  });
});
