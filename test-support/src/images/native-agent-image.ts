// SPDX-License-Identifier: Apache-2.0
// The native agent's image (wasmfleet/agent-native, the chart's simulator.nativeImage): FROM
// scratch, the release binary (local-stack's ensureNativeAgent, cached by its sources) and only
// what it loads — the shared libraries `ldd` names (glibc, libgcc_s, the loader) — plus the CA
// bundle for https module URLs. No shell, no package manager: the binary is the image. Cached by
// the bytes of everything it copies, so a warm run neither builds nor loads anything.
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ensureNativeAgent } from '@wasmfleet/local-stack';
import { docker } from './docker.ts';
import { ensureCachedImage, INPUTS_LABEL, type CachedImage } from './image-cache.ts';

export const NATIVE_AGENT_IMAGE = 'wasmfleet/agent-native';
/** Where the chart runs it (simulator.yaml's command) and where the .deb installs it. */
const BINARY_PATH = '/usr/bin/wasmfleet-agent-native';
const CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

/** A file the image holds: where it is on this machine and where it goes in the image. */
interface ImageFile {
  readonly from: string;
  readonly to: string;
}

/**
 * The shared libraries the binary loads, from `ldd`: each at the path the loader looks for it
 * (the name ldd prints), with the bytes of the file that path resolves to here.
 */
export async function sharedLibraries(binary: string): Promise<ImageFile[]> {
  const { stdout } = await promisify(execFile)('ldd', [binary]);
  const files: ImageFile[] = [];
  for (const line of stdout.split('\n')) {
    // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x…)" or "/lib64/ld-linux-x86-64.so.2 (0x…)"
    const match = /(?:=>\s*)?(\/\S+)\s+\(0x[0-9a-f]+\)/.exec(line);
    if (line.includes('not found'))
      throw new Error(`${binary} needs a library this machine lacks: ${line.trim()}`);
    if (match?.[1]) files.push({ from: await realpath(match[1]), to: match[1] });
  }
  if (!files.some((f) => f.to.includes('ld-linux')))
    throw new Error(`ldd ${binary} named no dynamic loader; is it a dynamically linked Linux executable?`);
  return files;
}

const DOCKERFILE = (files: readonly ImageFile[], digest: string): string =>
  [
    'FROM scratch',
    ...files.map((f, i) => `COPY f${i} ${f.to}`),
    // The data directory, owned by the runtime user for a plain `docker run` without the
    // chart's volume; /tmp likewise (the chart mounts an emptyDir on both).
    'COPY --chown=65532:65532 empty /var/lib/wasmfleet/',
    'COPY --chown=65532:65532 empty /tmp/',
    'ENV WASMFLEET_DATA_DIR=/var/lib/wasmfleet HOME=/tmp',
    'USER 65532:65532',
    `LABEL ${INPUTS_LABEL}=${digest}`,
    `ENTRYPOINT ["${BINARY_PATH}"]`,
    '',
  ].join('\n');

/** `wasmfleet/agent-native:<tag>`, from the cache or built from the cached release binary. */
export async function ensureNativeAgentImage(
  tag: string,
  progress?: (line: string) => void,
): Promise<CachedImage> {
  const agent = await ensureNativeAgent(progress ? { progress } : {});
  const files: ImageFile[] = [
    { from: agent.path, to: BINARY_PATH },
    ...(await sharedLibraries(agent.path)),
    { from: CA_BUNDLE, to: CA_BUNDLE },
  ];
  const contents = await Promise.all(files.map((f) => readFile(f.from)));
  return ensureCachedImage({
    tag: `${NATIVE_AGENT_IMAGE}:${tag}`,
    inputs: [DOCKERFILE(files, ''), ...contents],
    ...(progress ? { progress } : {}),
    build: async (imageTag, digest) => {
      const context = await mkdtemp(path.join(tmpdir(), 'wasmfleet-native-image-'));
      try {
        await mkdir(path.join(context, 'empty'));
        for (const [i, f] of files.entries()) await copyFile(f.from, path.join(context, `f${i}`));
        await writeFile(path.join(context, 'Dockerfile'), DOCKERFILE(files, digest));
        await docker(['build', '-q', '-t', imageTag, context]);
      } finally {
        await rm(context, { recursive: true, force: true });
      }
    },
  });
}
