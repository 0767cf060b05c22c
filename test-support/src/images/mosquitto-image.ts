// SPDX-License-Identifier: Apache-2.0
// The Mosquitto 2 image the chart runs where no registry serves eclipse-mosquitto: Debian's
// mosquitto (with mosquitto_ctrl and the dynamic-security plugin at the path the chart's
// mosquitto.dynamicSecurityPlugin names) on a Debian root filesystem, as user 1883 like the
// official image, so the chart's securityContext and read-only root filesystem hold.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { docker } from './docker.ts';
import { ensureCachedImage, INPUTS_LABEL, type CachedImage } from './image-cache.ts';
import { ensureDebianRootfs, importRootfs } from './debian-rootfs.ts';

export const MOSQUITTO_IMAGE = 'wasmfleet/mosquitto:2-debian';
/** Where the chart's default values expect the dynamic security plugin. */
export const DYNAMIC_SECURITY_PLUGIN = '/usr/lib/mosquitto_dynamic_security.so';

const DOCKERFILE = (rootTag: string, digest: string): string =>
  [
    `FROM ${rootTag}`,
    `RUN ln -s "$(ls /usr/lib/*/mosquitto_dynamic_security.so)" ${DYNAMIC_SECURITY_PLUGIN} \\`,
    ' && mkdir -p /mosquitto/config /mosquitto/data /mosquitto/log \\',
    ' && chown -R 1883:1883 /mosquitto \\',
    ' && mosquitto -h | head -n 1',
    'USER 1883:1883',
    'EXPOSE 1883',
    `LABEL ${INPUTS_LABEL}=${digest}`,
    'CMD ["mosquitto", "-c", "/mosquitto/config/mosquitto.conf"]',
    '',
  ].join('\n');

export async function ensureMosquittoImage(progress?: (line: string) => void): Promise<CachedImage> {
  const rootfs = await ensureDebianRootfs({
    name: 'mosquitto',
    packages: ['mosquitto', 'mosquitto-clients'],
    slim: true,
    ...(progress ? { progress } : {}),
  });
  return ensureCachedImage({
    tag: MOSQUITTO_IMAGE,
    inputs: [rootfs, DOCKERFILE('', '')],
    ...(progress ? { progress } : {}),
    build: async (tag, digest) => {
      const context = await mkdtemp(path.join(tmpdir(), 'wasmfleet-mosquitto-image-'));
      const rootTag = `${tag}-rootfs`;
      try {
        await importRootfs(rootfs, rootTag, []);
        await writeFile(path.join(context, 'Dockerfile'), DOCKERFILE(rootTag, digest));
        await docker(['build', '-q', '-t', tag, context]);
      } finally {
        await docker(['rmi', rootTag]).catch(() => undefined);
        await rm(context, { recursive: true, force: true });
      }
    },
  });
}
