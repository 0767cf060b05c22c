// SPDX-License-Identifier: Apache-2.0
// Installing an agent release beside the running one: download the tarball by URL into the
// versions directory while hashing it, refuse it unless the digest and the release signature
// (with a key this device was installed with) match, then unpack it into
// <versions>/<version>-<sha256 prefix>/ in whole (a temporary directory renamed into place).
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { verifyRelease, type AgentTarget } from '@wasmfleet/api';
import { loadTrustedKeys } from '../signing/trusted-keys.ts';
import { ReasonError } from '../runtime/errors.ts';

/** A release tarball is ~45 MB; anything far larger is not one. */
const MAX_TARBALL_BYTES = 512 * 1024 * 1024;
const DOWNLOAD_TIMEOUT_MS = 15 * 60_000;

export class UpgradeFailure extends ReasonError<string> {}

type Artifact = NonNullable<AgentTarget['agent']['artifact']>;

export function releaseFileName(version: string, arch: string): string {
  return `wasmfleet-agent-${version}-linux-${arch}.tar.gz`;
}

export function versionDirName(version: string, sha256: string): string {
  return `${version}-${sha256.slice(0, 12)}`;
}

/** Downloads, verifies and unpacks; returns the installed directory. */
export async function installRelease(
  versionsDir: string,
  version: string,
  artifact: Artifact,
  keyDirs: readonly string[],
): Promise<string> {
  const target = path.join(versionsDir, versionDirName(version, artifact.sha256));
  const download = path.join(versionsDir, `.download-${artifact.sha256.slice(0, 12)}.tar.gz`);
  const unpack = `${target}.unpacking`;
  await mkdir(versionsDir, { recursive: true });
  try {
    const sha256 = await fetchTo(artifact.url, download);
    if (sha256 !== artifact.sha256)
      throw new UpgradeFailure(
        'DigestMismatch',
        `${artifact.url} has sha256 ${sha256}, not the ${artifact.sha256} the rollout names`,
      );
    checkSignature(version, artifact, keyDirs);
    await rm(unpack, { recursive: true, force: true });
    await mkdir(unpack);
    await untar(download, unpack);
    const shipped = (await readFile(path.join(unpack, 'VERSION'), 'utf8').catch(() => '')).trim();
    if (shipped !== version)
      throw new UpgradeFailure(
        'InvalidRelease',
        `the tarball holds version ${shipped || '(none)'}, not ${version}`,
      );
    await rm(target, { recursive: true, force: true });
    await rename(unpack, target);
    return target;
  } finally {
    await rm(download, { force: true });
    await rm(unpack, { recursive: true, force: true });
  }
}

async function fetchTo(url: string, file: string): Promise<string> {
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS) });
  } catch (error) {
    throw new UpgradeFailure('FetchFailed', `cannot download ${url}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (!response.ok || !response.body)
    throw new UpgradeFailure('FetchFailed', `GET ${url} answered ${response.status}`);
  const hash = createHash('sha256');
  let bytes = 0;
  const body = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>);
  body.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    if (bytes > MAX_TARBALL_BYTES)
      body.destroy(new UpgradeFailure('FetchFailed', `${url} is larger than ${MAX_TARBALL_BYTES} bytes`));
    hash.update(chunk);
  });
  await pipeline(body, createWriteStream(file, { mode: 0o600 }));
  return hash.digest('hex');
}

function checkSignature(version: string, artifact: Artifact, keyDirs: readonly string[]): void {
  const keys = loadTrustedKeys(keyDirs).filter((k) => k.id === artifact.keyId);
  if (keys.length === 0)
    throw new UpgradeFailure(
      'UntrustedKey',
      `the release is signed with key ${artifact.keyId}, which this device does not trust (release keys: ${keyDirs.join(', ')})`,
    );
  const file = releaseFileName(version, process.arch);
  const signature = Buffer.from(artifact.ed25519, 'base64');
  if (!keys.some((k) => verifyRelease(artifact.sha256, file, signature, k.key)))
    throw new UpgradeFailure(
      'SignatureInvalid',
      `the signature of ${file} does not verify with key ${artifact.keyId}`,
    );
}

/** system tar, loaded only now: an agent that never upgrades never loads child_process. */
function untar(file: string, dir: string): Promise<void> {
  const { execFile } = process.getBuiltinModule('node:child_process');
  return new Promise((resolve, reject) => {
    execFile(
      'tar',
      ['-xzf', file, '-C', dir, '--strip-components=1', '--no-same-owner'],
      (error, _out, stderr) => {
        if (error)
          reject(
            new UpgradeFailure('InvalidRelease', `cannot unpack the release: ${stderr || error.message}`),
          );
        else resolve();
      },
    );
  });
}
