// SPDX-License-Identifier: Apache-2.0
// Runs the docker CLI (and other build commands) for the image builders, with the command and
// the tail of its output in every error, so a failed build says which step failed and why.
import { spawn } from 'node:child_process';
import { cacheRoot } from '../control-plane/binaries.ts';
import path from 'node:path';

export interface RunOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Written to the command's stdin, then closed. */
  readonly input?: string | Buffer;
  /** Called with each line the command prints, for progress of long steps. */
  readonly onLine?: (line: string) => void;
}

/** Runs `command args…`; resolves with stdout, rejects with the command and its output's tail. */
export function runCommand(
  command: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    let tail = '';
    const keep = (chunk: Buffer): void => {
      tail = (tail + chunk.toString()).slice(-6000);
      if (options.onLine)
        for (const line of chunk.toString().split('\n')) if (line.trim()) options.onLine(line);
    };
    child.stdout.on('data', (chunk: Buffer) => {
      out.push(chunk);
      keep(chunk);
    });
    child.stderr.on('data', keep);
    child.on('error', (cause) => reject(new Error(`could not run ${command}: ${cause.message}`, { cause })));
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out).toString());
      else reject(new Error(`${command} ${args.join(' ')} exited with ${code}:\n${tail}`));
    });
    child.stdin.end(options.input);
  });
}

/** `docker …`, stdout trimmed. */
export async function docker(args: readonly string[], options: RunOptions = {}): Promise<string> {
  return (await runCommand('docker', args, options)).trim();
}

/** Where built images, root filesystems and Go tools are cached (~/.cache/wasmfleet/…). */
export function imageCacheDir(...parts: string[]): string {
  return path.join(cacheRoot(), ...parts);
}
