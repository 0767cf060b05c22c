// SPDX-License-Identifier: Apache-2.0
// The kit's report: a table a person reads (one line per named check) and the same as JSON.
import type { CheckResult, ConformanceReport } from './runner.ts';

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** One line as a check finishes: `PASS  desired.apply  (2.1 s)` and, on failure, why. */
export function resultLine(r: CheckResult, width: number): string {
  const head = `${r.status === 'pass' ? 'PASS' : 'FAIL'}  ${r.name.padEnd(width)}  ${seconds(r.durationMs).padStart(7)}`;
  if (r.status === 'pass') return head;
  const log = r.agentLog ? `\n        runtime log (tail):\n${r.agentLog.replace(/^/gm, '          ')}` : '';
  return `${head}\n        ${r.detail ?? ''}${log}`;
}

export function summary(report: ConformanceReport): string {
  const failed = report.results.filter((r) => r.status === 'fail').map((r) => r.name);
  return [
    `${report.results.length} checks: ${report.passed} passed, ${report.failed} failed (${seconds(report.durationMs)})`,
    ...(failed.length > 0 ? [`failed: ${failed.join(', ')}`] : []),
  ].join('\n');
}

export function toJson(report: ConformanceReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
