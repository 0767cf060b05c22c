// SPDX-License-Identifier: Apache-2.0
// The offline output buffer's bound (ADR 0013): pure counters, and the flags that set it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, HELP, parseConfig } from '../../src/cli/config.ts';
import { DropReporter, OutputBudget } from '../../src/mqtt/output-budget.ts';

describe('output budget', () => {
  it('refuses the newest output at the message bound and counts it', () => {
    const budget = new OutputBudget({ maxMessages: 2, maxBytes: 1000 });
    assert.equal(budget.take(10), true);
    assert.equal(budget.take(10), true);
    assert.equal(budget.take(10), false);
    assert.deepEqual(budget.report(), {
      messages: 2,
      bytes: 20,
      maxMessages: 2,
      maxBytes: 1000,
      dropped: 1,
      droppedBytes: 10,
    });
    budget.give(10);
    assert.equal(budget.take(10), true, 'room again once the broker has one');
  });

  it('refuses an output that would pass the byte bound', () => {
    const budget = new OutputBudget({ maxMessages: 100, maxBytes: 100 });
    assert.equal(budget.take(60), true);
    assert.equal(budget.take(60), false);
    assert.equal(budget.take(40), true);
    assert.equal(budget.report().dropped, 1);
  });

  it('reports drops at the first one, then at most once per interval, with running totals', () => {
    const budget = new OutputBudget({ maxMessages: 1, maxBytes: 1000 });
    const reporter = new DropReporter(10_000);
    budget.take(1);
    budget.take(1);
    const first = reporter.note(budget.report(), false, 0);
    assert.match(first ?? '', /dropped 1 output\(s\), 1 since start.*--output-buffer/);
    budget.take(1);
    budget.take(1);
    assert.equal(reporter.note(budget.report(), false, 5_000), undefined, 'quiet within the interval');
    assert.match(reporter.note(budget.report(), false, 10_000) ?? '', /dropped 2 output\(s\), 3 since start/);
    assert.equal(reporter.note(budget.report(), true, 30_000), undefined, 'nothing new, nothing said');
    budget.take(1);
    assert.match(reporter.flush(budget.report(), true, 30_001) ?? '', /dropped 1 output\(s\), 4 since start/);
  });
});

describe('output buffer settings', () => {
  const base = ['--broker', 'mqtt://b', '--node', 'pump-7'];
  it('come from flags, the environment or the config file, and are in --help', () => {
    const fromFlags = parseConfig([...base, '--output-buffer', '500', '--output-buffer-bytes', '65536'], {});
    assert.ok(fromFlags !== 'help');
    assert.equal(fromFlags.maxBufferedOutputs, 500);
    assert.equal(fromFlags.maxBufferedOutputBytes, 65536);
    const fromEnv = parseConfig(base, {
      WASMFLEET_OUTPUT_BUFFER: '7',
      WASMFLEET_OUTPUT_BUFFER_BYTES: '2048',
    });
    assert.ok(fromEnv !== 'help');
    assert.equal(fromEnv.maxBufferedOutputs, 7);
    assert.equal(fromEnv.maxBufferedOutputBytes, 2048);
    assert.match(HELP, /--output-buffer <n>/);
    assert.match(HELP, /--output-buffer-bytes <n>/);
  });
  it('refuse nonsense, naming the flag', () => {
    assert.throws(() => parseConfig([...base, '--output-buffer', '0'], {}), ConfigError);
    assert.throws(
      () => parseConfig([...base, '--output-buffer-bytes', '12'], {}),
      /--output-buffer-bytes 12/,
    );
  });
});
