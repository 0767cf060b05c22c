// SPDX-License-Identifier: Apache-2.0
// A tiny JavaScript component of the world wasmfleet:function/sensor-function, componentized
// once with componentize-js and kept in the OS temp dir by the digest of its source and the
// componentize-js version (a build takes several seconds; the tests should not pay it each run).
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

const WIT = path.resolve(import.meta.dirname, '../../../api/wit/wasmfleet-function.wit');

/** Behaviour by payload: 'loop' never returns, 'fail' is a WIT err, 'trap' hits unreachable. */
export const TINY_SOURCE = `
import { getConfig, log, stateGet, stateSet } from 'wasmfleet:function/host@1.0.0';
const enc = new TextEncoder();
const dec = new TextDecoder();
export function handle(input) {
  const text = dec.decode(input.payload);
  if (text === 'loop') { for (;;) {} }
  if (text === 'fail') throw 'the input said fail';
  if (text === 'trap') throw new Error('an Error object cannot be lowered to a string: a trap');
  if (text === 'undeclared') return [{ topic: 'not/declared', payload: enc.encode('x'), timestampMs: 0n }];
  if (text === 'quota') {
    try { stateSet('big', new Uint8Array(100000)); } catch (e) { throw 'quota: ' + String(e); }
    return [];
  }
  const prev = stateGet('count');
  const count = (prev === undefined ? 0 : Number(dec.decode(prev))) + 1;
  stateSet('count', enc.encode(String(count)));
  log('info', 'call ' + count + ' on ' + input.topic);
  const greeting = getConfig('GREETING') ?? 'hello';
  return [{ topic: '', payload: enc.encode(greeting + ' ' + text + ' #' + count), timestampMs: 0n }];
}
`;

interface Componentize {
  componentize(opts: Record<string, unknown>): Promise<{ component: Uint8Array }>;
  version: string;
}

const ALL_FEATURES = ['stdio', 'random', 'clocks', 'http', 'fetch-event'] as const;
type Feature = (typeof ALL_FEATURES)[number];

/** The tiny component; `keep` leaves WASI features in (and their imports, e.g. wasi:http). */
export async function tinyComponent(keep: readonly Feature[] = []): Promise<Uint8Array> {
  const disable = ALL_FEATURES.filter((f) => !keep.includes(f));
  // A workloads devDependency, hoisted to the repository's node_modules.
  const specifier: string = '@bytecodealliance/componentize-js';
  const cjs = (await import(specifier)) as Componentize;
  const digest = createHash('sha256')
    .update(TINY_SOURCE)
    .update(cjs.version)
    .update(await readFile(WIT))
    .update(disable.join(','))
    .digest('hex')
    .slice(0, 16);
  const dir = path.join(tmpdir(), 'wasmfleet-test-components');
  const file = path.join(dir, `tiny-${digest}.wasm`);
  const cached = await readFile(file).catch(() => undefined);
  if (cached) return new Uint8Array(cached);
  await mkdir(dir, { recursive: true });
  const source = path.join(dir, `tiny-${digest}.js`);
  await writeFile(source, TINY_SOURCE);
  const { component } = await cjs.componentize({
    sourcePath: source,
    witPath: WIT,
    worldName: 'sensor-function',
    disableFeatures: disable,
  });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, component);
  await rename(tmp, file);
  return component;
}
