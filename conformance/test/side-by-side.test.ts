// SPDX-License-Identifier: Apache-2.0
// The side-by-side table of two runtimes' reports: a row per check in either, a failure marked,
// a check one runtime did not run said so, and each runtime's total.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CheckResult, ConformanceReport } from '../src/runner.ts';
import { sideBySide } from '../src/side-by-side.ts';

const result = (name: string, status: 'pass' | 'fail', durationMs: number): CheckResult => ({
  name,
  title: name,
  contract: 'docs/mqtt-contract.md',
  status,
  durationMs,
});
const report = (results: CheckResult[]): ConformanceReport => ({
  agentCmd: 'agent',
  broker: 'mqtt://127.0.0.1:1883',
  startedAt: '2026-12-07T04:00:00.000Z',
  durationMs: results.reduce((sum, r) => sum + r.durationMs, 0),
  results,
  passed: results.filter((r) => r.status === 'pass').length,
  failed: results.filter((r) => r.status === 'fail').length,
});

describe('sideBySide', () => {
  it('lines up the checks of both reports, failures and checks not run marked, totals last', () => {
    const table = sideBySide([
      {
        label: 'native',
        report: report([result('status.online', 'pass', 300), result('abi.x', 'pass', 1500)]),
      },
      { label: 'node', report: report([result('status.online', 'fail', 20_800)]) },
    ]);
    assert.deepEqual(table.split('\n'), [
      '| check           | native            | node               |',
      '| --------------- | ----------------- | ------------------ |',
      '| `status.online` | pass 0.3 s        | **fail** 20.8 s    |',
      '| `abi.x`         | pass 1.5 s        | not run            |',
      '| **total**       | **2 of 2, 1.8 s** | **0 of 1, 20.8 s** |',
    ]);
  });
});
