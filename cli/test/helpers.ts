// SPDX-License-Identifier: Apache-2.0
// Runs the real CLI, as a user would (bin/wasmfleet.js: the bundle), against the shared test
// control plane. Each call gets an empty WASMFLEET_DEV_DIR unless the test passes its own, so a
// developer's running `dev up` stack never answers in its place.
// (Not @oclif/test's in-process runCommand: it captures process.stdout, which is also the
// channel node:test's worker uses to report results, so test results would be swallowed.)
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sharedControlPlane, uniqueName, type ControlPlane } from '@wasmfleet/test-support';

export interface CliResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
}

export const CLI_BIN = fileURLToPath(new URL('../bin/wasmfleet.js', import.meta.url));
const NO_DEV_STACK = mkdtempSync(path.join(tmpdir(), 'wasmfleet-no-dev-stack-'));

/** `env` values that are undefined remove the variable (e.g. `{ NO_COLOR: undefined }`). */
export function cli(
  args: readonly string[],
  kubeconfig?: string,
  env: NodeJS.ProcessEnv = {},
  options: { stdin?: string } = {},
): Promise<CliResult> {
  const withConfig =
    kubeconfig && !args.includes('--kubeconfig') ? [...args, '--kubeconfig', kubeconfig] : [...args];
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [CLI_BIN, ...withConfig],
      {
        env: { ...process.env, NO_COLOR: '1', KUBECONFIG: '', WASMFLEET_DEV_DIR: NO_DEV_STACK, ...env },
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        resolve({ stdout, stderr, exitCode: error ? (typeof error.code === 'number' ? error.code : 1) : 0 });
      },
    );
    child.stdin?.end(options.stdin ?? '');
  });
}

export async function namespaceFor(plane: ControlPlane, prefix: string): Promise<string> {
  const ns = uniqueName(prefix);
  const created = await plane.kubectl(['create', 'namespace', ns]);
  if (created.code !== 0) throw new Error(`creating namespace ${ns}: ${created.stderr}`);
  return ns;
}

export { sharedControlPlane };
