#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// Prints runtimes' conformance reports (`npm run conformance -- … --report F`) side by side as a
// Markdown table:
//   node conformance/bin/side-by-side.ts 'Node agent=node.json' 'native agent=native.json'
import { readFile } from 'node:fs/promises';
import type { ConformanceReport } from '../src/runner.ts';
import { sideBySide, type LabelledReport } from '../src/side-by-side.ts';

const args = process.argv.slice(2);
if (args.length === 0) {
  process.stderr.write('usage: side-by-side.ts [label=]report.json … (reports from --report)\n');
  process.exit(2);
}
const reports: LabelledReport[] = [];
for (const arg of args) {
  const at = arg.lastIndexOf('=');
  const file = at < 0 ? arg : arg.slice(at + 1);
  const label = at < 0 ? file.replace(/\.json$/, '') : arg.slice(0, at);
  try {
    reports.push({ label, report: JSON.parse(await readFile(file, 'utf8')) as ConformanceReport });
  } catch (error) {
    process.stderr.write(
      `error: cannot read the report ${file} (write one with --report): ${(error as Error).message}\n`,
    );
    process.exit(1);
  }
}
process.stdout.write(`${sideBySide(reports)}\n`);
