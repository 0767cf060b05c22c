// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '@wasmfleet/test-support';
import { functionYaml, startHarness, type Harness } from './harness.ts';

const spec = (selector: Record<string, string>) => ({
  module: { configMap: { name: 'temp-module', key: 'module.wasm' } },
  placement: { nodeSelector: { matchLabels: selector }, sensors: ['temperature'], mode: 'Every' },
  inputs: [{ topic: 'sensors/{node}/temperature', format: 'senml' }],
  outputs: [{ topic: 'alerts/{node}/temperature' }],
  config: { THRESHOLD: '30' },
});

describe('operator: apply → exactly the matching devices get the function', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness('op-place');
    await h.moduleConfigMap('temp-module');
    await h.device('a', { labels: { site: 'plant-1' }, sensors: ['temperature'] });
    await h.device('b', { labels: { site: 'plant-1' }, sensors: ['temperature', 'humidity'] });
    await h.device('c', { labels: { site: 'plant-2' }, sensors: ['temperature'] });
    await h.device('d', { labels: { site: 'plant-1' }, sensors: ['humidity'] });
    // Devices announce themselves: the operator mirrors them into EdgeNode status.
    for (const d of h.devices) {
      await waitFor(`${d.node} Online`, async () =>
        (await h.node(d.node)).status?.phase === 'Online' ? true : undefined,
      );
    }
  });
  after(() => h.close());

  it('mirrors each device’s report into its EdgeNode (phase, sensors, agent, arch)', async () => {
    const node = await h.node(h.nodeName('b'));
    assert.equal(node.status?.phase, 'Online');
    assert.equal(node.status.sensorSummary, 'temperature,humidity');
    assert.equal(node.status.agentVersion, 'sim-0.1.0');
    assert.equal(node.status.arch, process.arch);
    assert.equal(node.status.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
  });

  it('delivers the function to the two devices with the label and the sensor, and reports Ready 2/2', async () => {
    await h.apply(functionYaml('temp-alert', spec({ site: 'plant-1' })));
    const fn = await h.waitForFunction('temp-alert', 'Ready', (f) => f.status?.phase === 'Ready');
    assert.equal(fn.status?.ready, '2/2');
    assert.deepEqual(fn.status.nodes?.map((n) => n.node).sort(), [h.nodeName('a'), h.nodeName('b')]);
    assert.equal(fn.status.conditions?.find((c) => c.type === 'ModuleResolved')?.status, 'True');
    assert.equal(fn.status.observedGeneration, fn.metadata.generation);
    assert.ok(fn.metadata.finalizers?.includes('wasmfleet.io/cleanup'));
    await waitFor('a Ready event', async () => {
      const r = await h.plane.kubectl([
        'get',
        'events.events.k8s.io',
        '-n',
        h.namespace,
        '--field-selector',
        'regarding.name=temp-alert',
        '-o',
        'jsonpath={.items[*].reason}',
      ]);
      return r.stdout.split(' ').includes('Ready') ? true : undefined;
    });
    const [a, b, c, d] = h.devices;
    assert.equal(a!.desired()?.functions[0]?.name, 'temp-alert');
    assert.equal(b!.desired()?.functions[0]?.config.THRESHOLD, '30');
    assert.equal(c!.desired(), undefined, 'plant-2 must not get it');
    assert.equal(d!.desired(), undefined, 'a device without the temperature sensor must not get it');
  });

  it('follows a relabel: the device that now matches gets it, the one that no longer matches drops it', async () => {
    const before = h.devices[0]!.received.length;
    await h.plane.kubectl(['label', 'edgenode', h.nodeName('c'), 'site=plant-1', '--overwrite']);
    await h.plane.kubectl(['label', 'edgenode', h.nodeName('a'), 'site=plant-9', '--overwrite']);
    await h.waitForFunction(
      'temp-alert',
      'on b and c',
      (f) =>
        JSON.stringify(f.status?.nodes?.map((n) => n.node).sort()) ===
          JSON.stringify([h.nodeName('b'), h.nodeName('c')]) && f.status?.phase === 'Ready',
    );
    await waitFor('a to be told to stop', () =>
      h.devices[0]!.desired()?.functions.length === 0 ? true : undefined,
    );
    assert.ok(h.devices[0]!.received.length > before);
    assert.equal(h.devices[2]!.desired()?.functions[0]?.name, 'temp-alert');
  });

  it('publishes nothing new when nothing relevant changed (a no-op edit, a resync)', async () => {
    const counts = h.devices.map((d) => d.received.length);
    await h.plane.kubectl(['annotate', 'wasmfunction', 'temp-alert', '-n', h.namespace, 'note=just-a-note']);
    await new Promise((r) => setTimeout(r, 1000));
    assert.deepEqual(
      h.devices.map((d) => d.received.length),
      counts,
    );
  });

  it('delete: devices are told to stop, then the finalizer is removed and the object is gone', async () => {
    const r = await h.plane.kubectl([
      'delete',
      'wasmfunction',
      'temp-alert',
      '-n',
      h.namespace,
      '--timeout=20s',
    ]);
    assert.equal(r.code, 0, r.stderr);
    for (const d of [h.devices[1]!, h.devices[2]!]) {
      assert.equal(d.desired()?.functions.length, 0, `${d.node} still runs it`);
    }
    const gone = await h.plane.kubectl(['get', 'wasmfunction', 'temp-alert', '-n', h.namespace]);
    assert.match(gone.stderr, /NotFound/);
  });
});
