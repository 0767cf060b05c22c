// SPDX-License-Identifier: Apache-2.0
// The operator and agent images, built from the project's Dockerfile on the locally built Node
// 24 base (NODE_IMAGE), and cached by a digest of every file the Dockerfile copies.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { REPO_ROOT } from './repo.ts';
import { docker } from './docker.ts';
import { digestOfFiles, ensureCachedImage, INPUTS_LABEL, type CachedImage } from './image-cache.ts';
import { ensureNodeBaseImage } from './node-base-image.ts';

export type ProjectTarget = 'operator' | 'agent';

/** What the Dockerfile copies (see its COPY lines); a change to any of them rebuilds. */
const DOCKERFILE_INPUTS = [
  'Dockerfile',
  '.dockerignore',
  'package.json',
  'package-lock.json',
  'api',
  'oci/package.json',
  'oci/src',
  'agent/package.json',
  'agent/src',
  'agent/bin',
  'agent/scripts',
  'operator/package.json',
  'operator/src',
  'operator/bin',
  'test-support/package.json',
  'cli/package.json',
  'workloads/package.json',
  'bench/package.json',
  'scripts/image',
];

async function dockerfileInputs(): Promise<string[]> {
  const { stdout } = await promisify(execFile)(
    'git',
    ['ls-files', '--cached', '--others', '--exclude-standard', '--', ...DOCKERFILE_INPUTS],
    {
      cwd: REPO_ROOT,
      maxBuffer: 16 * 1024 * 1024,
    },
  );
  return stdout.split('\n').filter((f) => f && !f.includes('node_modules/'));
}

/** `wasmfleet/<target>:<tag>` from the Dockerfile, with NODE_IMAGE = the local Node 24 base. */
export async function ensureProjectImage(
  target: ProjectTarget,
  tag: string,
  progress?: (line: string) => void,
): Promise<CachedImage> {
  const base = await ensureNodeBaseImage(progress);
  const sources = await digestOfFiles(REPO_ROOT, await dockerfileInputs());
  return ensureCachedImage({
    tag: `wasmfleet/${target}:${tag}`,
    inputs: [target, base.digest, sources],
    ...(progress ? { progress } : {}),
    build: async (imageTag, digest) => {
      await docker(
        [
          'build',
          '-q',
          '--target',
          target,
          '--build-arg',
          `NODE_IMAGE=${base.tag}`,
          '--label',
          `${INPUTS_LABEL}=${digest}`,
          '-t',
          imageTag,
          '.',
        ],
        { cwd: REPO_ROOT },
      );
    },
  });
}
