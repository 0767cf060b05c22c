// SPDX-License-Identifier: Apache-2.0
// `wasmfleet agent` and `wasmfleet operator` run the component's own entry point as a child with
// the same arguments (Node cannot exec() in place). Signals are forwarded and the child's exit
// code becomes ours, so process managers see one program.
import { spawn } from 'node:child_process';

export async function runBinary(bin: string, args: readonly string[]): Promise<never> {
  const child = spawn(process.execPath, [bin, ...args], { stdio: 'inherit' });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => child.kill(signal));
  const code = await new Promise<number>((resolve) =>
    child.on('exit', (c, s) => resolve(c ?? (s === 'SIGTERM' || s === 'SIGINT' ? 0 : 1))),
  );
  process.exit(code);
}
