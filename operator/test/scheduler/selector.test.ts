// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeSelector, matchesSelector, selectorError } from '../../src/scheduler/selector.ts';

const labels = { site: 'plant-1', tier: 'edge' };

describe('label selectors (Kubernetes semantics)', () => {
  it('matches everything when empty', () => {
    assert.equal(matchesSelector({}, {}), true);
    assert.equal(matchesSelector({ matchLabels: {}, matchExpressions: [] }, labels), true);
  });

  it('requires every matchLabels pair', () => {
    assert.equal(matchesSelector({ matchLabels: { site: 'plant-1' } }, labels), true);
    assert.equal(matchesSelector({ matchLabels: { site: 'plant-1', tier: 'core' } }, labels), false);
    assert.equal(matchesSelector({ matchLabels: { gpu: '' } }, labels), false);
    assert.equal(matchesSelector({ matchLabels: { gpu: '' } }, { gpu: '' }), true);
  });

  it('In needs the label present with a listed value', () => {
    const sel = {
      matchExpressions: [{ key: 'site', operator: 'In' as const, values: ['plant-1', 'plant-2'] }],
    };
    assert.equal(matchesSelector(sel, labels), true);
    assert.equal(matchesSelector(sel, { site: 'plant-3' }), false);
    assert.equal(matchesSelector(sel, {}), false);
  });

  it('NotIn also matches nodes without the label', () => {
    const sel = { matchExpressions: [{ key: 'site', operator: 'NotIn' as const, values: ['plant-1'] }] };
    assert.equal(matchesSelector(sel, labels), false);
    assert.equal(matchesSelector(sel, { site: 'plant-2' }), true);
    assert.equal(matchesSelector(sel, {}), true);
  });

  it('Exists and DoesNotExist look at the key only', () => {
    assert.equal(matchesSelector({ matchExpressions: [{ key: 'tier', operator: 'Exists' }] }, labels), true);
    assert.equal(matchesSelector({ matchExpressions: [{ key: 'gpu', operator: 'Exists' }] }, labels), false);
    assert.equal(
      matchesSelector({ matchExpressions: [{ key: 'gpu', operator: 'DoesNotExist' }] }, labels),
      true,
    );
    assert.equal(
      matchesSelector({ matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] }, labels),
      false,
    );
  });

  it('ANDs matchLabels with matchExpressions', () => {
    const sel = {
      matchLabels: { site: 'plant-1' },
      matchExpressions: [{ key: 'tier', operator: 'NotIn' as const, values: ['edge'] }],
    };
    assert.equal(matchesSelector(sel, labels), false);
    assert.equal(matchesSelector(sel, { site: 'plant-1', tier: 'core' }), true);
  });

  it('does not treat inherited object keys as labels', () => {
    assert.equal(matchesSelector({ matchExpressions: [{ key: 'toString', operator: 'Exists' }] }, {}), false);
  });

  it('reports what the API server would reject', () => {
    assert.match(
      selectorError({ matchExpressions: [{ key: 'a', operator: 'In', values: [] }] }) ?? '',
      /In needs/,
    );
    assert.match(
      selectorError({ matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] }) ?? '',
      /no values/,
    );
    assert.equal(selectorError({ matchLabels: { a: 'b' } }), undefined);
  });

  it('describes selectors in kubectl syntax', () => {
    assert.equal(
      describeSelector({
        matchLabels: { site: 'plant-1', a: 'b' },
        matchExpressions: [
          { key: 'tier', operator: 'In', values: ['x', 'y'] },
          { key: 'gpu', operator: 'DoesNotExist' },
        ],
      }),
      'a=b,site=plant-1,tier in (x,y),!gpu',
    );
  });
});
