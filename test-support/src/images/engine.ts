// SPDX-License-Identifier: Apache-2.0
// Finds a container engine (Docker or Podman) that answers on its API socket. The container
// tiers run only where one does; everywhere else they report themselves skipped with this reason.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { homedir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

export const NO_ENGINE =
  'no container engine answers (docker/podman); scripts/container-engine start installs and starts dockerd where it can';

export interface ContainerEngine {
  /** The unix socket that answered /_ping. */
  readonly socket: string;
  /** The CLI that talks to it, for `save` (testcontainers has no image export). */
  readonly cli: 'docker' | 'podman' | undefined;
}

function candidateSockets(): string[] {
  const host = process.env.DOCKER_HOST;
  if (host?.startsWith('unix://')) return [host.slice('unix://'.length)];
  const runtime = process.env.XDG_RUNTIME_DIR;
  return [
    '/var/run/docker.sock',
    ...(runtime ? [path.join(runtime, 'docker.sock'), path.join(runtime, 'podman', 'podman.sock')] : []),
    path.join(homedir(), '.docker', 'run', 'docker.sock'),
    '/run/podman/podman.sock',
  ];
}

function ping(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/_ping', method: 'GET', timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

async function hasCli(name: 'docker' | 'podman'): Promise<boolean> {
  return promisify(execFile)(name, ['--version']).then(
    () => true,
    () => false,
  );
}

/** The first engine socket that answers, or undefined (also for a DOCKER_HOST that is not unix://). */
export async function findContainerEngine(): Promise<ContainerEngine | undefined> {
  for (const socket of candidateSockets()) {
    if (!existsSync(socket) || !(await ping(socket))) continue;
    const cli = socket.includes('podman')
      ? (await hasCli('podman'))
        ? 'podman'
        : undefined
      : (await hasCli('docker'))
        ? 'docker'
        : (await hasCli('podman'))
          ? 'podman'
          : undefined;
    return { socket, cli };
  }
  return undefined;
}
