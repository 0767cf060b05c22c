// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { schedule } from '../../src/scheduler/index.ts';
import { tolerates } from '../../src/scheduler/taints.ts';
import type { Taint } from '../../src/scheduler/types.ts';
import { assigned, fn, node, replicas, T0 } from './fixtures.ts';

const gpu: Taint = { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' };
const drain: Taint = { key: 'maintenance', effect: 'NoExecute' };

describe('toleration matching (Kubernetes semantics)', () => {
  it('Equal needs key and value; effect must match when given', () => {
    assert.equal(tolerates({ key: 'dedicated', value: 'gpu' }, gpu), true);
    assert.equal(tolerates({ key: 'dedicated', operator: 'Equal', value: 'cpu' }, gpu), false);
    assert.equal(tolerates({ key: 'dedicated', value: 'gpu', effect: 'NoExecute' }, gpu), false);
    assert.equal(tolerates({ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }, gpu), true);
  });

  it('Exists ignores the value; an empty key with Exists tolerates everything', () => {
    assert.equal(tolerates({ key: 'dedicated', operator: 'Exists' }, gpu), true);
    assert.equal(tolerates({ key: 'other', operator: 'Exists' }, gpu), false);
    assert.equal(tolerates({ operator: 'Exists' }, gpu), true);
    assert.equal(tolerates({ operator: 'Exists' }, drain), true);
    assert.equal(tolerates({ operator: 'Exists', effect: 'NoSchedule' }, drain), false);
  });

  it('a taint without a value is matched by an Equal toleration without a value', () => {
    assert.equal(tolerates({ key: 'maintenance', effect: 'NoExecute' }, drain), true);
  });
});

describe('taints in placement', () => {
  const nodes = [node('plain'), node('gpu', { taints: [gpu] })];

  it('NoSchedule keeps new functions off unless tolerated', () => {
    const r = schedule({
      functions: [fn('ns/a'), fn('ns/b', { tolerations: [{ key: 'dedicated', operator: 'Exists' }] })],
      nodes,
      current: new Map(),
      now: T0,
    });
    assert.deepEqual(assigned(r), { 'ns/a': ['plain'], 'ns/b': ['gpu', 'plain'] });
  });

  it('NoSchedule does not evict what already runs there', () => {
    const r = schedule({
      functions: [fn('ns/a')],
      nodes,
      current: new Map([['ns/a', ['gpu', 'plain']]]),
      now: T0,
    });
    assert.deepEqual(assigned(r), { 'ns/a': ['gpu', 'plain'] });
    assert.deepEqual(r.removals, []);
  });

  it('NoExecute evicts untolerated functions and keeps tolerated ones', () => {
    const drained = [node('plain'), node('x', { taints: [drain] })];
    const r = schedule({
      functions: [
        fn('ns/a'),
        replicas('ns/b', 1, { tolerations: [{ key: 'maintenance', effect: 'NoExecute' }] }),
      ],
      nodes: drained,
      current: new Map([
        ['ns/a', ['plain', 'x']],
        ['ns/b', ['x']],
      ]),
      now: T0,
    });
    assert.deepEqual(assigned(r), { 'ns/a': ['plain'], 'ns/b': ['x'] });
    assert.deepEqual(r.removals, [
      {
        function: 'ns/a',
        node: 'x',
        reason: 'node has taint maintenance:NoExecute that the function does not tolerate',
      },
    ]);
  });
});
