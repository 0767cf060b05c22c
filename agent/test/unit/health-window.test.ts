// SPDX-License-Identifier: Apache-2.0
// The agent's health window (ADR 0022): the outcome of its last RECENT_CALLS_WINDOW calls, however
// long ago they were, so a function failing every call is seen failing at any input rate.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RECENT_CALLS_WINDOW } from '@wasmfleet/api';
import { FunctionMetrics } from '../../src/metrics/latency.ts';

describe('health window', () => {
  it('counts the last calls and how many failed, sliding as calls come', () => {
    const m = new FunctionMetrics();
    assert.deepEqual([m.recentCalls, m.recentErrors], [0, 0]);
    for (let i = 0; i < 7; i++) m.recordCall(10, false, 'Trap: unreachable');
    assert.deepEqual([m.recentCalls, m.recentErrors], [7, 7]);
    for (let i = 0; i < RECENT_CALLS_WINDOW; i++) m.recordCall(10, true);
    assert.deepEqual(
      [m.recentCalls, m.recentErrors],
      [RECENT_CALLS_WINDOW, 0],
      'good calls push failures out',
    );
    m.recordCall(10, false, 'Timeout: late');
    assert.deepEqual([m.recentCalls, m.recentErrors], [RECENT_CALLS_WINDOW, 1]);
    assert.deepEqual([m.invocations, m.errors], [7 + RECENT_CALLS_WINDOW + 1, 8], 'the totals are unchanged');
  });

  it('malformed inputs are not calls and stay out of the window', () => {
    const m = new FunctionMetrics();
    m.recordMalformed('not JSON');
    assert.deepEqual([m.recentCalls, m.recentErrors, m.malformed], [0, 0, 1]);
  });
});
