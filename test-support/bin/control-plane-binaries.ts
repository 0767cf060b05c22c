// SPDX-License-Identifier: Apache-2.0
// Builds (or finds) kube-apiserver, etcd and kubectl; prints where they are.
//   node test-support/bin/control-plane-binaries.ts            # human-readable
//   node test-support/bin/control-plane-binaries.ts --print-dir # just the directory
import { ensureControlPlaneBinaries } from '../src/control-plane/binaries.ts';

const printDirOnly = process.argv.includes('--print-dir');
try {
  const binaries = await ensureControlPlaneBinaries({ progress: (line) => console.error(`  ${line}`) });
  if (printDirOnly) console.log(binaries.dir);
  else console.log(`control-plane binaries (${binaries.source}): ${binaries.dir}`);
} catch (error) {
  console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
