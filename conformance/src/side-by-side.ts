// SPDX-License-Identifier: Apache-2.0
// Several runtimes' conformance reports as one Markdown table, a column per runtime and a row per
// check, with the totals last: how docs/native-agent.md shows the Node and the native agent side
// by side. Pure.
import type { ConformanceReport } from './runner.ts';

export interface LabelledReport {
  readonly label: string;
  readonly report: ConformanceReport;
}

function cell(report: ConformanceReport, check: string): string {
  const result = report.results.find((r) => r.name === check);
  if (!result) return 'not run';
  const time = `${(result.durationMs / 1000).toFixed(1)} s`;
  return result.status === 'pass' ? `pass ${time}` : `**fail** ${time}`;
}

function total(report: ConformanceReport): string {
  return `**${report.passed} of ${report.results.length}, ${(report.durationMs / 1000).toFixed(1)} s**`;
}

/** The table: checks in the order the first report ran them, then any only later ones ran. */
export function sideBySide(reports: readonly LabelledReport[]): string {
  const checks = [...new Set(reports.flatMap((r) => r.report.results.map((c) => c.name)))];
  const head = ['check', ...reports.map((r) => r.label)];
  const body = [
    ...checks.map((check) => [`\`${check}\``, ...reports.map((r) => cell(r.report, check))]),
    ['**total**', ...reports.map((r) => total(r.report))],
  ];
  const widths = head.map((title, i) => Math.max(3, title.length, ...body.map((row) => row[i]?.length ?? 0)));
  const line = (row: readonly string[]): string =>
    `| ${widths.map((w, i) => (row[i] ?? '').padEnd(w)).join(' | ')} |`;
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}
