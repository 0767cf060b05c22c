// SPDX-License-Identifier: Apache-2.0
// Boots a Debian root filesystem with systemd as PID 1 in a privileged container and waits until
// systemd says it is up — for tests that install a .deb and exercise a systemd unit (issue 17),
// and the same way kind boots its nodes. Needs the engine from scripts/container-engine (which
// makes privileged containers work where the capability bounding set lacks CAP_SYS_RESOURCE).
import { docker } from './docker.ts';
import { ensureCachedImage, INPUTS_LABEL, type CachedImage } from './image-cache.ts';
import { ensureDebianRootfs, importRootfs } from './debian-rootfs.ts';
import { uniqueName } from '../util.ts';

/**
 * A Debian image whose /sbin/init is systemd, with `packages` installed (cached by them).
 * @public for the .deb/systemd tests of issue 17, which have no caller on main yet.
 */
export async function ensureSystemdImage(
  packages: readonly string[] = [],
  progress?: (line: string) => void,
): Promise<CachedImage> {
  const all = ['systemd', 'systemd-sysv', 'dbus', ...packages];
  const rootfs = await ensureDebianRootfs({
    name: 'systemd',
    packages: all,
    ...(progress ? { progress } : {}),
  });
  return ensureCachedImage({
    tag: `wasmfleet/debian-systemd:${[...packages].sort().join('-').slice(0, 60) || 'base'}`,
    inputs: [rootfs, 'recipe-1'],
    ...(progress ? { progress } : {}),
    build: (tag, digest) =>
      importRootfs(rootfs, tag, [
        `LABEL ${INPUTS_LABEL}=${digest}`,
        'ENV container=docker',
        'STOPSIGNAL SIGRTMIN+3',
        'CMD ["/sbin/init"]',
      ]),
  });
}

export interface SystemdContainerOptions {
  readonly image: string;
  /** Container name; default a unique one. */
  readonly name?: string;
  /** `docker run -v` specs, e.g. '/path/on/host:/mnt:ro'. */
  readonly volumes?: readonly string[];
  /** How long systemd may take to come up. */
  readonly bootTimeoutSeconds?: number;
}

export interface SystemdContainer {
  readonly id: string;
  readonly name: string;
  /** Runs a command in the container; resolves with stdout, rejects with its output. */
  exec(command: readonly string[]): Promise<string>;
  /** `systemctl is-system-running` after boot: running, or degraded when a unit failed. */
  readonly state: string;
  /** Stops and removes the container and its anonymous volumes. */
  remove(): Promise<void>;
}

/** Starts `image` with systemd as PID 1 (privileged, tmpfs /run) and waits until it is up. */
export async function bootSystemdContainer(options: SystemdContainerOptions): Promise<SystemdContainer> {
  const name = options.name ?? uniqueName('wasmfleet-systemd');
  const id = await docker([
    'run',
    '-d',
    '--name',
    name,
    '--privileged',
    '--tmpfs',
    '/run',
    '--tmpfs',
    '/run/lock',
    '--tmpfs',
    '/tmp',
    ...(options.volumes ?? []).flatMap((v) => ['-v', v]),
    options.image,
    '/sbin/init',
  ]);
  const exec = (command: readonly string[]): Promise<string> => docker(['exec', id, ...command]);
  const remove = async (): Promise<void> => {
    await docker(['rm', '-f', '-v', id]).catch(() => undefined);
  };
  try {
    const timeout = options.bootTimeoutSeconds ?? 60;
    // is-system-running exits non-zero for degraded; its output is what matters.
    const state = await docker([
      'exec',
      id,
      'timeout',
      String(timeout),
      'systemctl',
      'is-system-running',
      '--wait',
    ]).catch(
      (error: unknown) =>
        /\b(degraded|starting|initializing|offline|maintenance)\s*$/m.exec(String(error))?.[1] ?? 'unknown',
    );
    if (state !== 'running' && state !== 'degraded') {
      const logs = await docker(['logs', '--tail', '40', id]).catch(() => '');
      throw new Error(
        `systemd in ${options.image} did not come up within ${timeout} s (state: ${state}):\n${logs}`,
      );
    }
    return { id, name, exec, state, remove };
  } catch (error) {
    await remove();
    throw error;
  }
}
