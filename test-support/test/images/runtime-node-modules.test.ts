// SPDX-License-Identifier: Apache-2.0
// The packages an image copies out of the full install (scripts/image/): resolved the way Node
// resolves them, so a nested version wins over a hoisted one and nothing a package needs is
// left behind; and, on this repository's real tree, the agent image's set has jco's transpiler
// but none of jco's compilers. agent/test/containers/agent-image.test.ts runs the result.
import assert from 'node:assert/strict';
import { access, glob, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  runtimeClosure,
  searchPath,
  type InstalledTree,
  type PackageManifest,
} from '../../../scripts/image/node-modules-closure.ts';
import { copyRuntimeNodeModules } from '../../../scripts/image/runtime-node-modules.ts';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function tree(manifests: Record<string, PackageManifest>, links: Record<string, string> = {}): InstalledTree {
  return { manifest: (dir) => manifests[dir], realDir: (dir) => links[dir] ?? dir };
}

describe('runtimeClosure', () => {
  it('searches a package’s own node_modules first, then each enclosing one, skipping scope folders', () => {
    assert.deepEqual(searchPath('node_modules/@s/a/node_modules/b', 'c'), [
      'node_modules/@s/a/node_modules/b/node_modules/c',
      'node_modules/@s/a/node_modules/c',
      'node_modules/c',
    ]);
    assert.deepEqual(searchPath('', 'c'), ['node_modules/c']);
  });

  it('takes a nested version over the hoisted one, and follows both', () => {
    const closure = runtimeClosure(
      tree({
        'node_modules/app-lib': { dependencies: { shim: '^2' } },
        'node_modules/app-lib/node_modules/shim': { dependencies: { util: '*' } },
        'node_modules/shim': {},
        'node_modules/util': {},
      }),
      { roots: ['app-lib', 'shim'] },
    );
    assert.deepEqual(closure.packages, [
      'node_modules/app-lib',
      'node_modules/app-lib/node_modules/shim',
      'node_modules/shim',
      'node_modules/util',
    ]);
    assert.deepEqual(closure.missing, []);
  });

  it('leaves out packages named as never loaded, and type-only @types packages', () => {
    const closure = runtimeClosure(
      tree({
        'node_modules/jco': { dependencies: { transpile: '*', compiler: '*', '@types/node': '*' } },
        'node_modules/transpile': {},
        'node_modules/compiler': { dependencies: { huge: '*' } },
        'node_modules/huge': {},
        'node_modules/@types/node': {},
      }),
      { roots: ['jco'], neverLoaded: ['compiler'] },
    );
    assert.deepEqual(closure.packages, ['node_modules/jco', 'node_modules/transpile']);
  });

  it('resolves a workspace package’s dependencies from its own folder', () => {
    const closure = runtimeClosure(
      tree(
        {
          'node_modules/@w/api': { dependencies: { typebox: '*' } },
          'api/node_modules/typebox': {},
          'node_modules/typebox': {},
        },
        { 'node_modules/@w/api': 'api' },
      ),
      { roots: ['@w/api'] },
    );
    assert.deepEqual(closure.packages, ['api/node_modules/typebox', 'node_modules/@w/api']);
  });

  it('reports a required dependency that is not installed; an optional one (another platform) is skipped', () => {
    const closure = runtimeClosure(
      tree({
        'node_modules/minify': {
          dependencies: { gone: '*' },
          optionalDependencies: { 'binding-darwin': '*', 'binding-linux': '*' },
          peerDependencies: { maybe: '*' },
          peerDependenciesMeta: { maybe: { optional: true } },
        },
        'node_modules/binding-linux': {},
      }),
      { roots: ['minify'] },
    );
    assert.deepEqual(closure.packages, ['node_modules/binding-linux', 'node_modules/minify']);
    assert.deepEqual(closure.missing, ['gone (required by minify)']);
  });
});

describe('copyRuntimeNodeModules on this repository', () => {
  it('gives the agent jco’s transpiler and the WASI shim, none of jco’s compilers, and no type declarations', async () => {
    const out = await mkdtemp(path.join(tmpdir(), 'wasmfleet-runtime-node-modules-'));
    try {
      await copyRuntimeNodeModules('agent', REPO_ROOT, out);
      const has = (p: string): Promise<boolean> =>
        access(path.join(out, 'node_modules', p)).then(
          () => true,
          () => false,
        );
      for (const needed of [
        '@bytecodealliance/jco/package.json',
        '@bytecodealliance/jco-transpile/package.json',
        'oxc-minify/package.json',
        '@bytecodealliance/preview2-shim/package.json',
        'mqtt/package.json',
      ])
        assert.ok(await has(needed), `${needed} is in the agent's set`);
      for (const compiler of ['typescript', 'rolldown', 'binaryen', '@bytecodealliance/componentize-js'])
        assert.equal(await has(compiler), false, `${compiler} is not in the agent's set`);
      const declarations: string[] = [];
      for await (const file of glob('**/*.d.ts', { cwd: out })) declarations.push(file);
      assert.deepEqual(declarations, []);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });
});
