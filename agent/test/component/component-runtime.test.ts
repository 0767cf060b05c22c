// SPDX-License-Identifier: Apache-2.0
// The component runtime through loadFunction: a tiny JS component (componentize-js) with config,
// state and logs; WIT err results; undeclared outputs; an infinite loop stopped at its deadline
// with the worker replaced; and jco transpiling once per digest (memory, then disk after a
// "restart" in a child process, and a corrupt entry transpiled again).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { isLoadError, type LoadedFunction, type LogLevel } from '../../src/index.ts';
import {
  cacheStats,
  configureComponentCache,
  type ComponentFunction,
  type ComponentLoadStats,
} from '../../src/runtime/component/index.ts';
import { failure, load, memoryState, send, texts } from '../helpers/functions.ts';
import { tinyComponent } from './tiny-component.ts';

const run = promisify(execFile);
const MEMORY = 64 * 1024 * 1024;

describe('component runtime (jco) behind loadFunction', () => {
  let bytes: Uint8Array;
  let cacheDir: string;
  let fn: LoadedFunction;
  const state = memoryState(1024);
  const logs: { level: LogLevel; text: string }[] = [];

  before(async () => {
    cacheDir = await mkdtemp(path.join(tmpdir(), 'wasmfleet-component-cache-'));
    configureComponentCache(cacheDir);
    bytes = await tinyComponent();
    fn = await load(bytes, {
      config: { GREETING: 'hi' },
      state,
      log: (level, text) => logs.push({ level, text }),
      limits: { memoryBytes: MEMORY, timeoutMs: 500 },
    });
  });
  after(async () => {
    await fn.close();
    await rm(cacheDir, { recursive: true, force: true });
  });

  it('processes messages with config, state and logs', async () => {
    assert.equal(fn.kind, 'component');
    const first = await send(fn, 'a', 'sensors/d1/t');
    assert.deepEqual(texts(first), ['hi a #1']);
    assert.ok(first.ok);
    assert.equal(first.outputs[0]?.topic, 'out/1', "topic '' is the first declared output");
    assert.deepEqual(texts(await send(fn, 'b')), ['hi b #2']);
    assert.equal(new TextDecoder().decode(state.map.get('count')), '2');
    assert.deepEqual(logs.slice(-2), [
      { level: 'info', text: 'call 1 on sensors/d1/t' },
      { level: 'info', text: 'call 2 on sensors/dev-1/temp' },
    ]);
  });

  it('reports a WIT err as a GuestError carrying its string', async () => {
    const f = failure(await send(fn, 'fail'));
    assert.equal(f.reason, 'GuestError');
    assert.equal(f.message, 'the input said fail');
  });

  it('rejects an undeclared output topic and reports a full state quota to the guest', async () => {
    const rejected = failure(await send(fn, 'undeclared'));
    assert.equal(rejected.reason, 'OutputRejected');
    assert.match(rejected.message, /not\/declared.*not a declared output/);
    const quota = failure(await send(fn, 'quota'));
    assert.equal(quota.reason, 'GuestError');
    assert.match(quota.message, /quota/);
  });

  it('stops an infinite loop at its deadline and serves the next call from a new worker', async () => {
    const t0 = performance.now();
    const f = failure(await send(fn, 'loop'));
    assert.equal(f.reason, 'Timeout');
    assert.ok(performance.now() - t0 < 5_000, 'the deadline was enforced');
    const next = await send(fn, 'after');
    assert.match(texts(next)[0] ?? '', /^hi after #\d+$/, 'state survives the replaced worker');
  });

  it('turns a trap into Trap and replaces the poisoned instance', async () => {
    const f = failure(await send(fn, 'trap'));
    assert.equal(f.reason, 'Trap');
    assert.match(texts(await send(fn, 'again'))[0] ?? '', /^hi again #/);
  });

  it('transpiles once per digest: a second load reuses it, a restart reads it from disk', async () => {
    const stats = (fn as ComponentFunction).stats;
    assert.equal(stats.source, 'transpiled');
    assert.ok(stats.transpileMs > 0);
    const transpiles = cacheStats.transpiles;
    const second = (await load(bytes, {
      state: memoryState(),
      limits: { memoryBytes: MEMORY, timeoutMs: 500 },
    })) as ComponentFunction;
    try {
      assert.equal(second.stats.source, 'memory');
      assert.equal(cacheStats.transpiles, transpiles, 'no second transpile in this process');
      assert.deepEqual(texts(await send(second, 'z')), ['hello z #1']);
    } finally {
      await second.close();
    }
    const file = path.join(cacheDir, 'tiny.wasm');
    await writeFile(file, bytes);
    const child = await loadInChild(file, cacheDir);
    assert.equal(child.ok, true);
    assert.equal(child.stats.source, 'disk', 'a restarted agent reads the transpiled output');
    assert.equal(child.cache.transpiles, 0);
    console.log(
      `component load: transpile ${stats.transpileMs.toFixed(0)} ms cold, ${child.stats.totalMs.toFixed(0)} ms from disk ` +
        `(read ${child.stats.readMs.toFixed(0)}, compile ${child.stats.compileMs.toFixed(0)}, instantiate ${child.stats.instantiateMs.toFixed(0)})`,
    );
  });

  it('transpiles again when a cached entry was tampered with', async () => {
    const [versionDir] = await readdir(cacheDir).then((n) => n.filter((d) => d.startsWith('jco-')));
    assert.ok(versionDir);
    const [entry] = await readdir(path.join(cacheDir, versionDir));
    assert.ok(entry);
    const glue = path.join(cacheDir, versionDir, entry, 'component.js');
    await writeFile(glue, `${await readFile(glue, 'utf8')}\nglobalThis.tampered = true;\n`);
    const file = path.join(cacheDir, 'tiny.wasm');
    const child = await loadInChild(file, cacheDir);
    assert.equal(child.stats.source, 'transpiled');
    assert.equal(child.cache.corruptEntries, 1);
    assert.equal(child.cache.transpiles, 1);
  });

  it('refuses a component that imports the network (wasi:http) with MissingImport', async () => {
    const networked = await tinyComponent(['http', 'fetch-event']);
    await assert.rejects(load(networked, { limits: { memoryBytes: MEMORY, timeoutMs: 500 } }), (error) => {
      assert.ok(isLoadError(error));
      assert.equal(error.reason, 'MissingImport');
      assert.match(error.message, /wasi:http\//);
      return true;
    });
  });

  it('refuses a component whose initial memory exceeds the limit before transpiling it', async () => {
    await assert.rejects(load(bytes, { limits: { memoryBytes: 64 * 1024, timeoutMs: 500 } }), (error) => {
      assert.ok(isLoadError(error));
      assert.equal(error.reason, 'OutOfMemory');
      return true;
    });
  });
});

async function loadInChild(
  file: string,
  cacheDir: string,
): Promise<{ stats: ComponentLoadStats; cache: typeof cacheStats; ok: boolean }> {
  const script = path.join(import.meta.dirname, 'load-in-child.ts');
  const { stdout } = await run(process.execPath, [script, file, cacheDir], { timeout: 120_000 });
  return JSON.parse(stdout) as { stats: ComponentLoadStats; cache: typeof cacheStats; ok: boolean };
}
