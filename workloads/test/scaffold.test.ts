// SPDX-License-Identifier: Apache-2.0
// The `wasmfleet init` scaffold: every language's template builds with its own build script and
// the function it produces runs in the agent runtime, behaving the same in all four languages.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { validateWasmFunction } from '@wasmfleet/api';
import { parse } from 'yaml';
import { LANGS, scaffold } from '../src/scaffold.ts';
import { REPO_DIR, WORKLOADS_DIR } from '../src/toolchain.ts';
import { loadModule } from './helpers/harness.ts';

const run = promisify(execFile);

describe('scaffold (wasmfleet init)', () => {
  let base: string;
  before(async () => {
    // Inside the repository (under a git-ignored build/ folder) so that the scaffolded JS and
    // AssemblyScript builds find jco and asc in the repository's node_modules, as they would
    // after `npm install` in a standalone project.
    await mkdir(path.join(WORKLOADS_DIR, 'build'), { recursive: true });
    base = await mkdtemp(path.join(WORKLOADS_DIR, 'build', 'scaffold-test-'));
  });
  after(() => rm(base, { recursive: true, force: true }));

  for (const lang of LANGS) {
    it(`${lang}: scaffolds a function that builds with its own script and runs`, async () => {
      const name = `hello-${lang}`;
      const dir = path.join(base, lang);
      const result = await scaffold(name, lang, dir);
      assert.ok(
        result.files.includes('function.yaml') &&
          result.files.includes('README.md') &&
          result.files.includes('.gitignore'),
      );
      assert.ok(
        result.files.some((f) => f.startsWith('sdk/')),
        'the SDK is vendored',
      );
      const manifest = parse(await readFile(path.join(dir, 'function.yaml'), 'utf8')) as {
        metadata: { name: string };
      };
      assert.equal(manifest.metadata.name, name);
      assert.deepEqual(validateWasmFunction(manifest), []);
      for (const f of result.files)
        assert.doesNotMatch(await readFile(path.join(dir, f), 'utf8'), /__NAME__/, f);

      const env = {
        ...process.env,
        ASC: path.join(REPO_DIR, 'node_modules', '.bin', 'asc'),
        GOTOOLCHAIN: 'local',
      };
      if (lang === 'js') await run(process.execPath, ['build.mjs'], { cwd: dir, env });
      else await run('sh', ['build.sh'], { cwd: dir, env });

      const fn = await loadModule(await readFile(path.join(dir, 'build', `${name}.wasm`)), {
        config: { LABEL: name },
        memoryBytes: 64 * 1024 * 1024,
        timeoutMs: 5_000,
      });
      try {
        assert.equal(fn.fn.kind, lang === 'js' ? 'component' : 'core');
        assert.deepEqual(await fn.json('hello'), [{ label: name, count: 1, bytes: 5 }]);
        assert.deepEqual(await fn.json(''), [{ label: name, count: 2, bytes: 0 }]);
      } finally {
        await fn.close();
      }
    });
  }

  it('refuses bad names, unknown languages and non-empty folders with a clear message', async () => {
    await assert.rejects(scaffold('Bad_Name', 'c', path.join(base, 'x')), /invalid function name "Bad_Name"/);
    await assert.rejects(
      scaffold('ok', 'rust', path.join(base, 'y')),
      /unknown language "rust": use one of as, c, go, js/,
    );
    const full = path.join(base, 'full');
    await mkdir(full, { recursive: true });
    await writeFile(path.join(full, 'keep.txt'), 'x');
    await assert.rejects(scaffold('ok', 'c', full), /is not empty/);
  });
});
