// SPDX-License-Identifier: Apache-2.0
// Regression: `wasmfleet describe` crashed with "toISOString is not a function" on every object
// that had an Event, because event times arrive as strings (issue 14). Pure: no API server.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventRow } from '../src/commands/describe.ts';
import { describeObject } from '../src/output/describe.ts';

describe('describe: events as the API server sends them', () => {
  it('shows an events.k8s.io/v1 event (eventTime and series, no lastTimestamp) with its age and count', () => {
    const row = eventRow({
      type: 'Normal',
      reason: 'Scheduled',
      message: 'placed on 3 devices',
      eventTime: '2026-12-06T10:00:00.000000Z',
      lastTimestamp: null,
      series: { count: 4, lastObservedTime: '2026-12-06T10:05:00.000000Z' },
    });
    assert.deepEqual(row, {
      type: 'Normal',
      reason: 'Scheduled',
      message: 'placed on 3 devices',
      count: 4,
      lastTimestamp: '2026-12-06T10:05:00.000000Z',
    });
    const text = describeObject(
      { metadata: { name: 'f', creationTimestamp: '2026-12-06T09:00:00Z' } },
      [row],
      Date.parse('2026-12-06T10:06:00Z'),
    );
    assert.match(text, /^ {2}Normal {3}Scheduled {13}60s {4}placed on 3 devices \(x4\)$/m);
  });

  it('shows a core/v1 event (lastTimestamp and count) and one with nothing but its creation time', () => {
    assert.equal(
      eventRow({ reason: 'R', lastTimestamp: '2026-12-06T10:00:00Z', count: 2 }).lastTimestamp,
      '2026-12-06T10:00:00Z',
    );
    assert.equal(
      eventRow({ reason: 'R', metadata: { creationTimestamp: '2026-12-06T11:00:00Z' } }).lastTimestamp,
      '2026-12-06T11:00:00Z',
    );
  });
});
