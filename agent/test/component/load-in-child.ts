// SPDX-License-Identifier: Apache-2.0
// Loads a component in a fresh process (an agent restart, or a second agent on the same data
// dir) and prints how the load went as JSON: which cache served it and whether jco ran.
import { readFile } from 'node:fs/promises';
import { loadFunction } from '../../src/index.ts';
import {
  cacheStats,
  configureComponentCache,
  type ComponentFunction,
} from '../../src/runtime/component/index.ts';

const [file, cacheDir] = process.argv.slice(2);
if (!file || !cacheDir) throw new Error('usage: load-in-child.ts <component.wasm> <cache dir>');
configureComponentCache(cacheDir);
const state = new Map<string, Uint8Array>();
const fn = (await loadFunction(await readFile(file), {
  outputs: ['out/1'],
  config: {},
  limits: { memoryBytes: 64 * 1024 * 1024, timeoutMs: 2_000 },
  state: { get: (key) => state.get(key), set: (key, value) => (state.set(key, value), true) },
})) as ComponentFunction;
const result = await fn.invoke({ topic: 'in/1', payload: new TextEncoder().encode('x'), timestampMs: 0 });
await fn.close();
process.stdout.write(JSON.stringify({ stats: fn.stats, cache: cacheStats, ok: result.ok }));
