// SPDX-License-Identifier: Apache-2.0
// Keeps charts/wasmfleet/crds/ a byte-for-byte copy of the repository's generated crds/.
//
//   node test-support/test/chart/sync-crds.ts           # copy crds/*.yaml into the chart
//   node test-support/test/chart/sync-crds.ts --check   # exit 1 and list what drifted
//
// Copies, not symlinks: `helm package` and container builds on other systems must see real files,
// and crds/ stays the single source of truth (the chart test fails when the copies drift).
import { copyFile, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { CHART_DIR, REPO_ROOT } from './helm.ts';

export const SOURCE_CRDS = path.join(REPO_ROOT, 'crds');
export const CHART_CRDS = path.join(CHART_DIR, 'crds');

const isManifest = (f: string): boolean => /\.ya?ml$/.test(f);

/** Human-readable differences between crds/ and the chart's crds/; empty when in sync. */
export async function crdDrift(): Promise<string[]> {
  const source = (await readdir(SOURCE_CRDS)).filter(isManifest).sort();
  const chart = (await readdir(CHART_CRDS)).filter(isManifest).sort();
  const drift: string[] = [];
  for (const file of source) {
    if (!chart.includes(file)) {
      drift.push(`missing in the chart: ${file}`);
      continue;
    }
    const [a, b] = await Promise.all([
      readFile(path.join(SOURCE_CRDS, file)),
      readFile(path.join(CHART_CRDS, file)),
    ]);
    if (!a.equals(b)) drift.push(`differs: ${file}`);
  }
  for (const file of chart) if (!source.includes(file)) drift.push(`not in crds/: ${file}`);
  return drift;
}

export async function syncCrds(): Promise<void> {
  const source = (await readdir(SOURCE_CRDS)).filter(isManifest);
  for (const file of (await readdir(CHART_CRDS)).filter(isManifest)) {
    if (!source.includes(file)) await rm(path.join(CHART_CRDS, file));
  }
  for (const file of source) await copyFile(path.join(SOURCE_CRDS, file), path.join(CHART_CRDS, file));
}

if (import.meta.main) {
  if (process.argv.includes('--check')) {
    const drift = await crdDrift();
    if (drift.length > 0) {
      console.error(`charts/wasmfleet/crds/ drifted from crds/:\n  ${drift.join('\n  ')}`);
      console.error('run `node test-support/test/chart/sync-crds.ts` to copy them again');
      process.exitCode = 1;
    }
  } else {
    await syncCrds();
    console.log(`copied ${SOURCE_CRDS} into ${CHART_CRDS}`);
  }
}
