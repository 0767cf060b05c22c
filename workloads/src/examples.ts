// SPDX-License-Identifier: Apache-2.0
// The example workloads: where each lives, its language, how it is built and where the module
// lands. `npm run build:workloads` and the tests use this list.
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { WORKLOADS_DIR } from './toolchain.ts';

export type Lang = 'as' | 'c' | 'go' | 'js';

export interface Example {
  readonly name: string;
  readonly lang: Lang;
  readonly dir: string;
  readonly summary: string;
}

export const EXAMPLES_DIR = path.join(WORKLOADS_DIR, 'examples');

export const EXAMPLES: readonly Example[] = [
  {
    name: 'temp-alert',
    lang: 'as',
    summary: 'temperature threshold alert with hysteresis (SenML in, alert out)',
  },
  {
    name: 'anomaly-zscore',
    lang: 'c',
    summary: 'rolling mean / z-score anomaly detection, per-device state',
  },
  { name: 'grayscale', lang: 'c', summary: 'camera frame grayscale (PPM or raw RGBA in, PGM out)' },
  { name: 'maze', lang: 'c', summary: 'maze solver (BFS) on a text grid' },
  {
    name: 'ml-inference',
    lang: 'c',
    summary: 'MLP classifier on a vibration feature vector, weights embedded',
  },
  { name: 'checksum-go', lang: 'go', summary: 'CRC-32 / Adler-32 / XOR-8 frame integrity check, Go wasip1' },
  {
    name: 'js-enrich',
    lang: 'js',
    summary: 'SenML unit normaliser as a JavaScript component (jco componentize)',
  },
].map((e) => ({ ...e, lang: e.lang as Lang, dir: path.join(EXAMPLES_DIR, e.name) }));

interface BuildModule {
  readonly artifact: string;
  build(): Promise<string>;
}

export function example(name: string): Example {
  const found = EXAMPLES.find((e) => e.name === name);
  if (!found) throw new Error(`no example named ${name}; known: ${EXAMPLES.map((e) => e.name).join(', ')}`);
  return found;
}

async function buildModule(e: Example): Promise<BuildModule> {
  return (await import(path.join(e.dir, 'build.ts'))) as BuildModule;
}

/** Where the example's module is written by its build script. */
export async function artifactOf(name: string): Promise<string> {
  return (await buildModule(example(name))).artifact;
}

/** Builds one example from source; returns the module's path. */
export async function buildExample(name: string): Promise<string> {
  return (await buildModule(example(name))).build();
}

const SDK_OF: Record<Lang, string> = { as: 'assemblyscript', c: 'c', go: 'go', js: 'js' };

async function newestMtime(dir: string): Promise<number> {
  let newest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.name === 'build' || entry.name === 'node_modules') continue;
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? await newestMtime(full) : (await stat(full)).mtimeMs);
  }
  return newest;
}

/**
 * The example's module, built first when it is missing or older than its sources or its SDK —
 * so tests run from a fresh checkout as well as after `npm run build:workloads`.
 */
export async function ensureBuilt(name: string): Promise<string> {
  const e = example(name);
  const artifact = await artifactOf(name);
  const built = await stat(artifact).then(
    (s) => s.mtimeMs,
    () => 0,
  );
  const sources = Math.max(
    await newestMtime(e.dir),
    await newestMtime(path.join(WORKLOADS_DIR, 'sdk', SDK_OF[e.lang])),
  );
  return built >= sources ? artifact : buildExample(name);
}
