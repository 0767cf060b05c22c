// SPDX-License-Identifier: Apache-2.0
// `npm run build:workloads`: builds every example from source into examples/<name>/build/.
//   node workloads/scripts/build.ts [name…]
// Builds one at a time (the machines this runs on are small) and fails with the first error.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { EXAMPLES, buildExample } from '../src/examples.ts';
import { ToolchainMissing } from '../src/toolchain.ts';

const wanted = process.argv.slice(2);
const selected = wanted.length > 0 ? EXAMPLES.filter((e) => wanted.includes(e.name)) : EXAMPLES;
const unknown = wanted.filter((w) => !EXAMPLES.some((e) => e.name === w));
if (unknown.length > 0) {
  console.error(
    `unknown example(s): ${unknown.join(', ')}; known: ${EXAMPLES.map((e) => e.name).join(', ')}`,
  );
  process.exit(2);
}
const root = path.resolve(import.meta.dirname, '..', '..');
for (const e of selected) {
  const t0 = performance.now();
  try {
    const out = await buildExample(e.name);
    const { size } = await stat(out);
    const ms = (performance.now() - t0).toFixed(0);
    console.log(
      `built ${e.name.padEnd(15)} ${e.lang.padEnd(3)} ${path.relative(root, out)} (${(size / 1024).toFixed(1)} KiB, ${ms} ms)`,
    );
  } catch (error) {
    console.error(`failed to build ${e.name}: ${error instanceof Error ? error.message : String(error)}`);
    if (error instanceof ToolchainMissing)
      console.error('install the toolchains listed in workloads/README.md and retry');
    process.exit(1);
  }
}
