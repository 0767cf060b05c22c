#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// npm run conformance -- --agent-cmd '<command>': runs the kit and prints one line per check.
import { writeFile } from 'node:fs/promises';
import { CHECKS } from '../src/checks/index.ts';
import { parseKitOptions, USAGE, UsageError } from '../src/options.ts';
import { resultLine, summary, toJson } from '../src/report.ts';
import { runConformance, selectChecks } from '../src/runner.ts';

let options;
try {
  options = parseKitOptions(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`error: ${(error as Error).message}\n`);
  process.exit(error instanceof UsageError ? 2 : 1);
}
if (options === 'help') {
  process.stdout.write(USAGE);
  process.exit(0);
}
const width = Math.max(...CHECKS.map((c) => c.name.length));
if (options === 'list') {
  for (const c of CHECKS)
    process.stdout.write(`${c.name.padEnd(width)}  ${c.title}\n${' '.repeat(width + 2)}(${c.contract})\n`);
  process.exit(0);
}
try {
  selectChecks(options.only, options.skip);
} catch (error) {
  process.stderr.write(`error: ${(error as Error).message}\n`);
  process.exit(2);
}
process.stdout.write(`WasmFleet device conformance — runtime: ${options.agentCmd}\n`);
const report = await runConformance({
  ...options,
  onResult: (r) => process.stdout.write(`${resultLine(r, width)}\n`),
});
process.stdout.write(`${summary(report)}\n`);
if (options.report) await writeFile(options.report, toJson(report));
process.exit(report.failed === 0 ? 0 : 1);
