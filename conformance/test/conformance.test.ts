// SPDX-License-Identifier: Apache-2.0
// The kit judged on known runtimes: the WasmFleet agent passes every check, the native agent
// (agent-native/) every check but those of a source it does not have, and each deliberately
// broken variant of the agent (test/broken-agents/) fails exactly the checks named after what it
// breaks.
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { ensureNativeAgent } from '@wasmfleet/test-support';
import { resultLine, runConformance, summary, type ConformanceReport } from '../src/index.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const AGENT = `${process.execPath} ${path.join(ROOT, 'agent/bin/wasmfleet-agent.js')}`;
const broken = (name: string): string =>
  `${process.execPath} ${path.join(ROOT, 'conformance/test/broken-agents', `${name}.ts`)}`;
const timeoutScale = Number(process.env.WASMFLEET_CONFORMANCE_TIMEOUT_SCALE ?? '1');

function failures(report: ConformanceReport): string[] {
  return report.results.filter((r) => r.status === 'fail').map((r) => r.name);
}

function show(report: ConformanceReport, diagnostic: (line: string) => void): void {
  const width = Math.max(...report.results.map((r) => r.name.length));
  for (const r of report.results) diagnostic(resultLine(r, width));
  diagnostic(summary(report));
}

describe('the conformance kit', () => {
  it('the WasmFleet agent passes every check', async (t) => {
    const report = await runConformance({ agentCmd: AGENT, timeoutScale });
    show(report, (line) => t.diagnostic(line));
    assert.deepEqual(failures(report), [], summary(report));
    assert.ok(report.results.length >= 25, `${report.results.length} checks ran`);
  });

  it('the native agent passes every check, unchanged', async (t) => {
    const native = await ensureNativeAgent({ progress: (line) => t.diagnostic(line) });
    const report = await runConformance({ agentCmd: native.path, timeoutScale });
    show(report, (line) => t.diagnostic(line));
    assert.deepEqual(failures(report), [], summary(report));
    assert.ok(report.results.length >= 25, `${report.results.length} checks ran`);
  });

  /** Each broken runtime, the checks it must fail, and a check it must still pass. */
  const BROKEN = [
    { name: 'acks-before-processing', fails: ['qos1.ack-after-process'], passes: 'desired.apply' },
    {
      name: 'processes-duplicates',
      fails: ['once-per-reading.overlapping-filters'],
      passes: 'desired.apply',
    },
    {
      name: 'ignores-digest-mismatch',
      fails: ['module.digest-mismatch-topic', 'module.digest-mismatch-url'],
      passes: 'desired.apply',
    },
  ];
  for (const b of BROKEN) {
    it(`a runtime that ${b.name.replaceAll('-', ' ')} fails ${b.fails.join(' and ')}, by name`, async (t) => {
      const report = await runConformance({
        agentCmd: broken(b.name),
        only: [b.passes, ...b.fails],
        timeoutScale,
      });
      show(report, (line) => t.diagnostic(line));
      assert.deepEqual(failures(report), b.fails);
    });
  }
});
