// SPDX-License-Identifier: Apache-2.0
// Copies out of one full `npm ci` only the packages an image's program loads at run time, for
// the Dockerfile (docs/adr/0020): `npm ci --omit=dev --workspace agent` still installs every
// workspace's production tree (the agent image carried @kubernetes/client-node, and jco's
// compilers: typescript, rolldown, binaryen, componentize-js — 422 MB of node_modules).
// Type declarations, source maps and docs are left behind too: Node never loads them.
//
//   node scripts/image/runtime-node-modules.ts agent /runtime/agent       # writes /runtime/agent/node_modules
//   node scripts/image/runtime-node-modules.ts operator /runtime/operator
//
// Plain Node (no dependencies): it runs inside `docker build` from the repository root.
import { cp, lstat, mkdir, readlink, realpath, symlink } from 'node:fs/promises';
import { readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { runtimeClosure, type ClosureRequest, type PackageManifest } from './node-modules-closure.ts';

/**
 * What each image runs, as the packages it imports. The agent's main thread runs one bundle
 * (agent/scripts/build.ts) holding mqtt, typebox and yaml; from node_modules it loads only what
 * the bundle leaves out — jco, to transpile a component when one arrives, and the WASI shim — and
 * mqtt for the simulated sensors (agent/bin/wasmfleet-sim-sensors.ts, run from its source).
 */
export const IMAGE_PROGRAMS: Readonly<Record<'agent' | 'operator', (root: string) => ClosureRequest>> = {
  agent: () => ({
    roots: ['@bytecodealliance/jco', '@bytecodealliance/preview2-shim', 'mqtt'],
    // jco is also a CLI that builds and optimises components; the agent calls only its
    // transpile(), which loads jco-transpile, oxc-minify and preview2-shim (traced with strace
    // while transpiling a component; agent/test/containers/agent-image.test.ts runs one).
    neverLoaded: [
      '@bytecodealliance/componentize-js',
      '@bytecodealliance/componentize-js-0-19-3',
      'componentize-qjs',
      '@bytecodealliance/jco-std',
      '@bytecodealliance/preview3-shim',
      'binaryen',
      'typescript',
      'typescript-compiler-api',
      'rolldown',
      'regexpu-core',
      'unenv',
      'commander',
      'mkdirp',
    ],
  }),
  // The operator runs its TypeScript sources: every production dependency of it and of the api.
  operator: (root) => ({ roots: Object.keys(readManifest(root, 'operator')?.dependencies ?? {}) }),
};

function readManifest(root: string, dir: string): PackageManifest | undefined {
  try {
    return JSON.parse(readFileSync(path.join(root, dir, 'package.json'), 'utf8')) as PackageManifest;
  } catch {
    return undefined;
  }
}

/** Files Node never loads from node_modules: types, maps, docs, TypeScript it refuses to strip there. */
const NEVER_LOADED_FILE = /(\.d\.[cm]?ts|\.[cm]?ts|\.map|\.md|\.markdown)$/i;
const KEPT_DOC = /^(licen[cs]e|notice|copying)/i;

function keep(file: string, packageDir: string): boolean {
  const relative = path.relative(packageDir, file);
  if (relative.split(path.sep)[0] === 'node_modules') return false; // nested packages: copied on their own
  const base = path.basename(file);
  return KEPT_DOC.test(base) || !NEVER_LOADED_FILE.test(base);
}

/** Copies the closure of `image`'s program from the tree at `root` into `out`/node_modules. */
export async function copyRuntimeNodeModules(
  image: keyof typeof IMAGE_PROGRAMS,
  root: string,
  out: string,
): Promise<{ packages: number }> {
  const realRoot = await realpath(root);
  const closure = runtimeClosure(
    {
      manifest: (dir) => readManifest(root, dir),
      realDir: (dir) => {
        try {
          return path.relative(realRoot, realpathSync(path.join(root, dir)));
        } catch {
          return dir;
        }
      },
    },
    IMAGE_PROGRAMS[image](root),
  );
  if (closure.missing.length > 0)
    throw new Error(`${image}: not installed: ${closure.missing.join(', ')}; run npm ci in ${root} first`);
  for (const dir of closure.packages) {
    const from = path.join(root, dir);
    const to = path.join(out, dir);
    await mkdir(path.dirname(to), { recursive: true });
    // Workspace packages are symlinks to their folders, which the image copies itself.
    if ((await lstat(from)).isSymbolicLink()) await symlink(await readlink(from), to);
    else await cp(from, to, { recursive: true, verbatimSymlinks: true, filter: (f) => keep(f, from) });
  }
  return { packages: closure.packages.length };
}

if (import.meta.main) {
  const [image, out] = process.argv.slice(2);
  if ((image !== 'agent' && image !== 'operator') || !out) {
    console.error('usage: node scripts/image/runtime-node-modules.ts agent|operator <out-dir>');
    process.exit(2);
  }
  const { packages } = await copyRuntimeNodeModules(image, process.cwd(), out);
  console.log(`${image}: ${packages} packages into ${path.join(out, 'node_modules')}`);
}
