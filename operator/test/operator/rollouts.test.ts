// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '@wasmfleet/test-support';
import type { WasmFunction } from '@wasmfleet/api';
import { functionYaml, startHarness, type Harness } from './harness.ts';

// Devices fail (or hang) on any revision whose config says so: a stand-in for a module that
// traps on every message, decided by the content devices receive.
const outcome = (fn: { config: Readonly<Record<string, string>> }) =>
  fn.config.BEHAVIOUR === 'trap' ? 'Failed' : fn.config.BEHAVIOUR === 'hang' ? 'Starting' : 'Running';

const spec = (config: Record<string, string>, rollout: Record<string, unknown>) => ({
  module: { configMap: { name: 'mod', key: 'module.wasm' } },
  placement: { nodeSelector: { matchLabels: { ring: 'all' } } },
  inputs: [{ topic: 'in/{node}' }],
  config,
  rollout,
});

const condition = (fn: WasmFunction, type: string) => fn.status?.conditions?.find((c) => c.type === type);

describe('rollouts with real API server + Mosquitto', () => {
  let h: Harness;
  const revisionsSeen = (name: string) =>
    new Map(
      h.devices.map((d) => [
        d.node,
        new Set(
          d.received.flatMap((doc) => doc.functions.filter((f) => f.name === name).map((f) => f.revision)),
        ),
      ]),
    );

  before(async () => {
    h = await startHarness('op-rollout');
    await h.moduleConfigMap('mod');
    for (let i = 0; i < 10; i++)
      await h.device(`d${i}`, { labels: { ring: 'all' }, outcome, heartbeatSeconds: 5 });
  });
  after(() => h.close());

  it('a bad canary is rolled back before the next step; only the first step’s devices ever ran it', async () => {
    const canary = {
      strategy: 'Canary',
      steps: [{ percent: 20, pause: '2s' }, { percent: 60 }],
      progressDeadlineSeconds: 60,
    };
    await h.apply(functionYaml('bad', spec({ V: '1' }, canary)));
    const v1 = await h.waitForFunction(
      'bad',
      'v1 Ready 10/10',
      (f) => f.status?.ready === '10/10' && f.status.phase === 'Ready',
    );
    await h.apply(functionYaml('bad', spec({ V: '2', BEHAVIOUR: 'trap' }, canary)));
    const rolledBack = await h.waitForFunction(
      'bad',
      'rolled back',
      (f) => f.status?.rollout?.phase === 'RolledBack',
    );
    assert.equal(rolledBack.status?.phase, 'Degraded');
    assert.equal(condition(rolledBack, 'Progressing')?.status, 'False');
    const bad = rolledBack.status.updateRevision;
    assert.notEqual(bad, v1.status?.currentRevision);
    await waitFor('every device back on v1', () =>
      h.devices.every(
        (d) => d.desired()?.functions.find((f) => f.name === 'bad')?.revision === v1.status?.currentRevision,
      )
        ? true
        : undefined,
    );
    const everRan = [...revisionsSeen('bad').values()].filter(
      (revs) => bad !== undefined && revs.has(bad),
    ).length;
    assert.ok(everRan <= 2, `${everRan} devices ran the bad revision; the first step has 2`);
    assert.ok(everRan >= 1, 'the canary must have been tried');
  });

  it('an uneven percentage (33%) still reaches every device, one step at a time', async () => {
    const canary = { strategy: 'Canary', steps: [{ percent: 33 }], progressDeadlineSeconds: 60 };
    await h.apply(functionYaml('uneven', spec({ V: '1' }, canary)));
    await h.waitForFunction('uneven', 'v1', (f) => f.status?.ready === '10/10');
    await h.apply(functionYaml('uneven', spec({ V: '2' }, canary)));
    const done = await h.waitForFunction(
      'uneven',
      'v2 everywhere',
      (f) =>
        f.status?.updatedNodes === 10 &&
        f.status.readyNodes === 10 &&
        f.status.currentRevision === f.status.updateRevision,
    );
    assert.equal(done.status?.phase, 'Ready');
    const v2 = done.status.updateRevision ?? '';
    assert.ok(
      h.devices.every((d) => d.desired()?.functions.find((f) => f.name === 'uneven')?.revision === v2),
    );
  });

  it('a progress deadline that expires rolls back with ProgressDeadlineExceeded', async () => {
    const canary = { strategy: 'Canary', steps: [{ percent: 50 }], progressDeadlineSeconds: 2 };
    await h.apply(functionYaml('slow', spec({ V: '1' }, canary)));
    await h.waitForFunction('slow', 'v1', (f) => f.status?.ready === '10/10');
    await h.apply(functionYaml('slow', spec({ V: '2', BEHAVIOUR: 'hang' }, canary)));
    const fn = await h.waitForFunction(
      'slow',
      'deadline',
      (f) => condition(f, 'Progressing')?.reason === 'ProgressDeadlineExceeded',
      30_000,
    );
    assert.equal(fn.status?.phase, 'Degraded');
    assert.equal(fn.status.rollout?.phase, 'RolledBack');
  });

  it('a superseding edit mid-rollout restarts with the newest revision; no device keeps the superseded one', async () => {
    const canary = {
      strategy: 'Canary',
      steps: [{ percent: 20, gate: 'Manual' }],
      progressDeadlineSeconds: 60,
    };
    await h.apply(functionYaml('sup', spec({ V: '1' }, canary)));
    await h.waitForFunction('sup', 'v1', (f) => f.status?.ready === '10/10');
    await h.apply(functionYaml('sup', spec({ V: '2' }, canary)));
    const atGate = await h.waitForFunction(
      'sup',
      'v2 waiting at the gate',
      (f) => f.status?.rollout?.waitingForGate === true,
    );
    const v2 = atGate.status?.updateRevision ?? '';
    await h.apply(functionYaml('sup', spec({ V: '3' }, canary)));
    const v3gate = await h.waitForFunction(
      'sup',
      'v3 at the gate',
      (f) => f.status?.updateRevision !== v2 && f.status?.rollout?.waitingForGate === true,
    );
    const v3 = v3gate.status?.updateRevision ?? '';
    assert.ok(
      h.devices.every((d) => d.desired()?.functions.find((f) => f.name === 'sup')?.revision !== v2),
      'a device still runs the superseded revision',
    );
    // Promote past the gate: everyone gets v3.
    await h.plane.kubectl([
      'annotate',
      'wasmfunction',
      'sup',
      '-n',
      h.namespace,
      `rollout.wasmfleet.io/promote=${v3}`,
      '--overwrite',
    ]);
    await h.waitForFunction(
      'sup',
      'v3 everywhere',
      (f) => f.status?.currentRevision === v3 && f.status.readyNodes === 10,
    );
  });
});
