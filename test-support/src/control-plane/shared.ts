// SPDX-License-Identifier: Apache-2.0
// One control plane per test run instead of one per test file: scripts/run-tests.ts starts it
// and hands its coordinates to every test process through WASMFLEET_TEST_CONTROL_PLANE. A test
// file run on its own (`node --test path/to/file.test.ts`) starts a private one instead, torn
// down when that process exits.
import { readFile, writeFile } from 'node:fs/promises';
import { ensureControlPlaneBinaries } from './binaries.ts';
import { runKubectl, startControlPlane, type ControlPlane } from './control-plane.ts';
import { kubeconfigYaml } from './kubeconfig.ts';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const SHARED_ENV = 'WASMFLEET_TEST_CONTROL_PLANE';

interface Coordinates {
  readonly server: string;
  readonly token: string;
  readonly kubeconfigPath: string;
  readonly caPem: string;
  readonly pids: readonly number[];
}

/** Writes the coordinates a test process needs to reuse `plane`; returns the file's path. */
export async function publishControlPlane(plane: ControlPlane, file: string): Promise<string> {
  const coordinates: Coordinates = {
    server: plane.server,
    token: plane.token,
    kubeconfigPath: plane.kubeconfigPath,
    caPem: plane.caPem,
    pids: plane.pids,
  };
  await writeFile(file, JSON.stringify(coordinates), { mode: 0o600 });
  return file;
}

let shared: Promise<ControlPlane> | undefined;

export function sharedControlPlane(): Promise<ControlPlane> {
  shared ??= attachOrStart();
  return shared;
}

async function attachOrStart(): Promise<ControlPlane> {
  const file = process.env[SHARED_ENV];
  if (!file) return startControlPlane({ unref: true });
  const c = JSON.parse(await readFile(file, 'utf8')) as Coordinates;
  const binaries = await ensureControlPlaneBinaries();
  const scratch = await mkdtemp(path.join(tmpdir(), 'wasmfleet-kubeconfigs-'));
  const kubectl = (args: readonly string[], opts: { stdin?: string; kubeconfig?: string } = {}) =>
    runKubectl(binaries.kubectl, opts.kubeconfig ?? c.kubeconfigPath, args, opts.stdin);
  // Someone else owns the processes: stopping is theirs to do.
  const stop = (): Promise<void> => Promise.resolve();
  return {
    ...c,
    binaries,
    kubectl,
    writeKubeconfig: async (name, token) => {
      const out = path.join(scratch, `${name}.kubeconfig`);
      await writeFile(out, kubeconfigYaml({ server: c.server, caPem: c.caPem, token, user: name }), {
        mode: 0o600,
      });
      return out;
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
