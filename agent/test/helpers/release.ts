// SPDX-License-Identifier: Apache-2.0
// Builds (or takes from the cache) the agent's release artifacts the way a user does, with
// `npm run release:agent` (or the native agent's, `npm run release:agent-native`), into a
// directory of the test's; returns what the build recorded. And the documented check of a download.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { ReleaseManifest } from '../../release/manifest.ts';
import { releaseStem, type ReleaseArch } from '../../release/targets.ts';

const run = promisify(execFile);
const REPO = path.resolve(import.meta.dirname, '../../..');

export interface BuiltRelease {
  readonly dir: string;
  readonly manifest: ReleaseManifest;
  readonly tarball: string;
  readonly deb: string | undefined;
  /** <keyId>.pub of the key it was signed with. */
  readonly publicKey: string;
}

export async function buildRelease(
  out: string,
  arch: ReleaseArch,
  options: { readonly version?: string; readonly deb?: boolean } = {},
): Promise<BuiltRelease> {
  const args = ['run', '--silent', 'release:agent', '--', '--arch', arch, '--out', out];
  if (options.version) args.push('--version', options.version);
  if (options.deb === false) args.push('--no-deb');
  await run('npm', args, { cwd: REPO, maxBuffer: 16 << 20, timeout: 20 * 60_000 }).catch((error: unknown) => {
    const e = error as { stderr?: string; message: string };
    throw new Error(`npm run release:agent failed: ${e.stderr ?? e.message}`, { cause: error });
  });
  const stem = releaseStem(options.version ?? (await defaultVersion()), arch);
  const manifest = JSON.parse(await readFile(path.join(out, `${stem}.json`), 'utf8')) as ReleaseManifest;
  return {
    dir: out,
    manifest,
    tarball: path.join(out, manifest.tarball.file),
    deb: manifest.deb ? path.join(out, manifest.deb.file) : undefined,
    publicKey: path.join(out, `${manifest.keyId}.pub`),
  };
}

async function defaultVersion(): Promise<string> {
  const source = await readFile(path.join(REPO, 'agent/src/version.ts'), 'utf8');
  const m = /AGENT_VERSION = '([^']+)'/.exec(source);
  if (!m?.[1]) throw new Error('agent/src/version.ts has no AGENT_VERSION literal');
  return m[1];
}

export interface BuiltNativeRelease {
  readonly dir: string;
  readonly tarball: string;
  readonly deb: string;
  /** <keyId>.pub of the key it was signed with. */
  readonly publicKey: string;
}

/** `npm run release:agent-native` for this machine's architecture into `out`. */
export async function buildNativeRelease(out: string): Promise<BuiltNativeRelease> {
  const args = ['run', '--silent', 'release:agent-native', '--', '--out', out];
  const { stdout } = await run('npm', args, { cwd: REPO, maxBuffer: 16 << 20, timeout: 60 * 60_000 }).catch(
    (error: unknown) => {
      const e = error as { stderr?: string; message: string };
      throw new Error(`npm run release:agent-native failed: ${e.stderr ?? e.message}`, { cause: error });
    },
  );
  const files = [...stdout.matchAll(/^(\S+) {2}[\d.]+ MB {2}sha256:[0-9a-f]{64}$/gm)].map((m) => m[1] ?? '');
  const tarball = files.find((f) => f.endsWith('.tar.gz'));
  const deb = files.find((f) => f.endsWith('.deb'));
  const keyId = /-inkey (\S+)\.pub/.exec(stdout)?.[1];
  if (!tarball || !deb || !keyId)
    throw new Error(`npm run release:agent-native printed no tarball, .deb or key:\n${stdout}`);
  return { dir: out, tarball, deb, publicKey: path.join(out, `${keyId}.pub`) };
}

/** The documented check: sha256sum -c, then openssl's Ed25519 verification of the checksum line. */
export async function verify(file: string, publicKey: string): Promise<string> {
  const dir = path.dirname(file);
  await run('sha256sum', ['-c', `${path.basename(file)}.sha256`], { cwd: dir });
  const { stdout } = await run(
    'openssl',
    [
      'pkeyutl',
      '-verify',
      '-pubin',
      '-inkey',
      publicKey,
      '-rawin',
      '-in',
      `${file}.sha256`,
      '-sigfile',
      `${file}.sha256.sig`,
    ],
    { cwd: dir },
  );
  return stdout.trim();
}
