// SPDX-License-Identifier: Apache-2.0
// Runs the real CLI binary, as a user would, against the shared test control plane.
// (Not @oclif/test's in-process runCommand: it captures process.stdout, which is also the
// channel node:test's worker uses to report results, so test results would be swallowed.)
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { sharedControlPlane, uniqueName, type ControlPlane } from '@wasmfleet/test-support';

export interface CliResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
}

export const CLI_BIN = fileURLToPath(new URL('../bin/wasmfleet.ts', import.meta.url));

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
      { env: { ...process.env, NO_COLOR: '1', KUBECONFIG: '', ...env }, maxBuffer: 16 * 1024 * 1024 },
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
