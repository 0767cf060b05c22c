// SPDX-License-Identifier: Apache-2.0
// The sensors a device reports: configured names, then names learned from input topics, bounded
// by what the status schema carries (regressions: test/fuzz/regressions/sensors/).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseNodeStatus } from '@wasmfleet/api';
import { ConfigError, parseConfig } from '../../src/cli/config.ts';
import { MAX_SENSORS, SensorRegistry } from '../../src/node/sensor-registry.ts';

const statusWith = (registry: SensorRegistry) =>
  parseNodeStatus(
    Buffer.from(JSON.stringify({ version: 1, node: 'pump-7', state: 'online', sensors: registry.report() })),
  );

describe('sensor registry', () => {
  it('learns the last topic level, keeps configured names first and updates the topic it was last seen on', () => {
    const r = new SensorRegistry(['flow']);
    r.seen('sensors/pump-7/temperature', 1_000);
    r.seen('plant/line-2/temperature', 2_000);
    assert.deepEqual(r.report(), [
      { name: 'flow' },
      { name: 'temperature', topic: 'plant/line-2/temperature', lastSeen: new Date(2_000).toISOString() },
    ]);
    assert.ok(statusWith(r).ok);
  });

  it('does not learn a name or topic the status schema would refuse (long-topic-level-invalidates-status)', () => {
    const r = new SensorRegistry();
    assert.match(r.seen(`sensors/pump-7/${'x'.repeat(64)}`, 1) ?? '', /must have 1 to 63 characters/);
    assert.equal(r.seen(`${'a/'.repeat(600)}t`, 1), undefined, 'said once');
    r.seen('sensors/pump-7/', 1);
    assert.deepEqual(r.report(), []);
    assert.equal(r.skipped, 3);
    assert.ok(statusWith(r).ok);
  });

  it('keeps at most 128 sensors, first come first kept (unbounded-learned-sensors)', () => {
    const r = new SensorRegistry(['configured']);
    for (let i = 0; i < 10_000; i++) r.seen(`sensors/pump-7/s${i}`, i);
    const names = r.report().map((s) => s.name);
    assert.equal(names.length, MAX_SENSORS);
    assert.deepEqual(names.slice(0, 3), ['configured', 's0', 's1']);
    assert.equal(r.skipped, 10_000 - (MAX_SENSORS - 1));
    assert.ok(statusWith(r).ok);
  });

  it('refuses --sensors the status could not carry, saying which and why', () => {
    const args = ['--broker', 'mqtt://b', '--node', 'pump-7', '--sensors'];
    assert.throws(
      () => parseConfig([...args, `ok,${'y'.repeat(64)}`], {}),
      (e: unknown) => e instanceof ConfigError && /64 characters; the most is 63/.test(e.message),
    );
    const many = Array.from({ length: 129 }, (_, i) => `s${i}`).join(',');
    assert.throws(() => parseConfig([...args, many], {}), /129 sensors; a device reports at most 128/);
    const o = parseConfig([...args, ' a, b ,,c'], {});
    assert.ok(o !== 'help');
    assert.deepEqual(o.sensors, ['a', 'b', 'c']);
  });
});
