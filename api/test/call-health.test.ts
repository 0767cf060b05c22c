// SPDX-License-Identifier: Apache-2.0
// When a function on a device counts as failing (ADR 0022): Failed and CrashLoopBackOff always;
// a running one when most of its recent calls failed, and at least three did.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { callsFailing, functionHealth } from '../src/index.ts';

describe('function health', () => {
  it('judges calls by the error ratio over the window, whatever the rate: 7 of 7 fails, 2 of 20 does not', () => {
    assert.equal(callsFailing({ recentCalls: 7, recentErrors: 7 }), true);
    assert.equal(callsFailing({ recentCalls: 6, recentErrors: 3 }), true);
    assert.equal(callsFailing({ recentCalls: 20, recentErrors: 9 }), false);
    assert.equal(callsFailing({ recentCalls: 20, recentErrors: 2 }), false);
    assert.equal(
      callsFailing({ recentCalls: 2, recentErrors: 2 }),
      false,
      'two failures are not a pattern yet',
    );
    assert.equal(callsFailing({}), false, 'an agent that reports no window');
  });

  it('names the state and why: Failed and CrashLoopBackOff keep the agent’s reason', () => {
    assert.deepEqual(
      functionHealth({
        phase: 'Running',
        recentCalls: 10,
        recentErrors: 10,
        lastError: 'GuestError: out of range',
      }),
      {
        failing: true,
        kind: 'CallsFailing',
        reason: 'CallsFailing',
        message: '10 of the last 10 calls failed; last: GuestError: out of range',
      },
    );
    assert.deepEqual(
      functionHealth({ phase: 'CrashLoopBackOff', reason: 'Trap', message: '5 calls in a row failed' }),
      {
        failing: true,
        kind: 'CrashLoopBackOff',
        reason: 'Trap',
        message: '5 calls in a row failed',
      },
    );
    assert.equal(functionHealth({ phase: 'Failed', reason: 'MissingImport' }).failing, true);
    assert.deepEqual(functionHealth({ phase: 'Running', recentCalls: 20, recentErrors: 1 }), {
      failing: false,
    });
    assert.deepEqual(functionHealth({ phase: 'Starting' }), { failing: false });
  });
});
