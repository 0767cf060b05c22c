// SPDX-License-Identifier: Apache-2.0
// The pure part of per-device identity: which ACLs a device gets for what is placed on it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DesiredFunction } from '@wasmfleet/api';
import { aclKey, deviceAcls, diffAcls, nodeOfRole, deviceRoleName } from '../../src/identity/grants.ts';

const fn = (name: string, input: string, output: string): DesiredFunction => ({
  namespace: 'plant-1',
  name,
  revision: `${name}-1`,
  module: { sha256: 'a'.repeat(64), size: 8 },
  inputs: [{ topic: input, qos: 1, format: 'senml' }],
  outputs: [{ topic: output, qos: 1, retain: false }],
  config: {},
  limits: { memoryBytes: 1 << 20, timeoutMs: 50, maxModuleBytes: 1 << 20, maxPayloadBytes: 1 << 16 },
});

const keys = (node: string, fns: DesiredFunction[]) =>
  deviceAcls(node, fns).map((a) => `${aclKey(a)} ${a.allow ? 'allow' : 'deny'}`);

describe('deviceAcls', () => {
  it('gives a device with nothing placed only its own control topics, and denies the rest of wasmfleet/', () => {
    assert.deepEqual(keys('pump-7', []), [
      'publishClientReceive wasmfleet/# deny',
      'publishClientReceive wasmfleet/v1/nodes/pump-7/desired allow',
      'publishClientSend wasmfleet/# deny',
      'publishClientSend wasmfleet/v1/logs/+/+/pump-7 allow',
      'publishClientSend wasmfleet/v1/nodes/pump-7/status allow',
      'subscribeLiteral wasmfleet/v1/nodes/pump-7/desired allow',
    ]);
  });

  it('adds the expanded inputs (subscribe + receive), outputs (send) and module of each placed function', () => {
    const acls = keys('pump-7', [
      fn('temp-alert', 'sensors/{node}/temperature', 'alerts/{node}/temperature'),
    ]);
    for (const expected of [
      'subscribeLiteral sensors/pump-7/temperature allow',
      'publishClientReceive sensors/pump-7/temperature allow',
      'publishClientSend alerts/pump-7/temperature allow',
      `subscribeLiteral wasmfleet/v1/modules/${'a'.repeat(64)} allow`,
    ])
      assert.ok(acls.includes(expected), `${expected} in ${acls.join('\n')}`);
    assert.ok(!acls.some((a) => a.includes('{node}')));
  });

  it('keeps other devices’ control topics out of reach even when an input is #', () => {
    const acls = deviceAcls('pump-7', [fn('everything', '#', 'out/{node}')]);
    const receive = acls
      .filter((a) => a.acltype === 'publishClientReceive')
      .sort((a, b) => b.priority - a.priority);
    // Mosquitto checks the highest priority first: own desired (allow), wasmfleet/# (deny), # (allow).
    assert.deepEqual(
      receive.map((a) => `${a.topic} ${String(a.allow)}`),
      [
        `wasmfleet/v1/modules/${'a'.repeat(64)} true`,
        'wasmfleet/v1/nodes/pump-7/desired true',
        'wasmfleet/# false',
        '# true',
      ],
    );
  });
});

describe('diffAcls', () => {
  it('adds what is missing, removes what is extra, and replaces a changed priority', () => {
    const before = deviceAcls('n', [fn('f', 'in/{node}', 'out/{node}')]);
    const after = deviceAcls('n', []);
    const { add, remove } = diffAcls(before, after);
    assert.deepEqual(add, []);
    assert.deepEqual(remove.map(aclKey).sort(), [
      'publishClientReceive in/n',
      'publishClientReceive wasmfleet/v1/modules/' + 'a'.repeat(64),
      'publishClientSend out/n',
      'subscribeLiteral in/n',
      'subscribeLiteral wasmfleet/v1/modules/' + 'a'.repeat(64),
    ]);
    const reprioritised = diffAcls(
      [{ acltype: 'publishClientSend', topic: 'x', priority: 1, allow: true }],
      [{ acltype: 'publishClientSend', topic: 'x', priority: 2, allow: true }],
    );
    assert.equal(reprioritised.add.length, 1);
    assert.equal(reprioritised.remove.length, 1);
  });

  it('round-trips a role name to its node', () => {
    assert.equal(nodeOfRole(deviceRoleName('pump-7.plant')), 'pump-7.plant');
    assert.equal(nodeOfRole('admin'), undefined);
  });
});
