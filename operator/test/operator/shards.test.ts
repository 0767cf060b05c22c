// SPDX-License-Identifier: Apache-2.0
// Shards (issue 18, ADR 0038): two operators against one API server, each with its own broker and
// scoped to its own fleet (`--fleet`) and namespace (`--namespace`). Devices register into the
// shard whose broker they use; each operator caches, reconciles and places onto its own devices
// only, and the same function name in each shard's namespace runs on that shard's devices alone.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FLEET_LABEL } from '../../src/controllers/fleet-context.ts';
import { functionYaml, startHarness, type Harness } from './harness.ts';

const SPEC = {
  module: { configMap: { name: 'mod', key: 'module.wasm' } },
  inputs: [{ topic: 'in/{node}' }],
};

describe('operator shards: one API server, two brokers, an operator per fleet', () => {
  const shards: { h: Harness; devices: string[] }[] = [];
  before(async () => {
    for (const [prefix, count] of [
      ['shard-a', 2],
      ['shard-b', 3],
    ] as const) {
      const h = await startHarness(prefix);
      await h.moduleConfigMap('mod');
      const devices: string[] = [];
      for (let i = 0; i < count; i++) devices.push((await h.device(`d${i}`)).node);
      shards.push({ h, devices });
    }
    for (const { h } of shards) await h.apply(functionYaml('f', SPEC));
  });
  after(async () => {
    await Promise.allSettled(shards.map(({ h }) => h.close()));
  });

  it('each shard registers the devices on its broker into its fleet', async () => {
    for (const { h, devices } of shards) {
      for (const name of devices) {
        const node = await h.node(name);
        assert.equal(node.metadata.labels?.[FLEET_LABEL], h.fleet, `${name} joins ${h.fleet}`);
      }
    }
  });

  it("the same function in each shard's namespace runs on that shard's devices only", async () => {
    for (const { h, devices } of shards) {
      const fn = await h.waitForFunction(
        'f',
        `Ready ${devices.length}/${devices.length}`,
        (f) => f.status?.ready === `${devices.length}/${devices.length}`,
      );
      assert.deepEqual(fn.status?.nodes?.map((n) => n.node).sort(), [...devices].sort());
      for (const d of h.devices)
        assert.deepEqual(
          d.desired()?.functions.map((f) => f.namespace),
          [h.namespace],
        );
    }
  });

  it("an operator caches, hears and reconciles only its own shard's devices", () => {
    for (const { h, devices } of shards) {
      const ctx = h.operator.context();
      assert.ok(ctx, 'the operator is running');
      const own = new Set(devices);
      const cached = ctx.nodes.list().map((n) => n.metadata.name ?? '');
      assert.deepEqual(cached.sort(), [...own].sort(), 'its EdgeNode cache holds its fleet only');
      assert.deepEqual([...ctx.reports.keys()].sort(), [...own].sort(), 'it hears its broker only');
      const placed = ctx.placement.placement(`${h.namespace}/f`)?.nodes ?? [];
      assert.deepEqual([...placed].sort(), [...own].sort());
    }
  });
});
