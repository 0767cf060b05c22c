// SPDX-License-Identifier: Apache-2.0
// Runs a command line the way a user types it: `bash -c LINE` in a process group of its own, so
// that an "interrupt" reaches every process of the line at once, as Ctrl-C at a terminal does.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface ShellResult {
  readonly line: string;
  /** The exit code, or undefined when the shell died of a signal (see `signal`). */
  readonly code: number | undefined;
  readonly signal: NodeJS.Signals | undefined;
  readonly stdout: string;
  readonly stderr: string;
}

export interface ShellOptions {
  readonly env: NodeJS.ProcessEnv;
  readonly cwd?: string;
  readonly stdin?: string;
  /** Send SIGINT to the line's process group after this long (for commands that follow or serve). */
  readonly interruptAfterMs?: number;
  /** Send SIGINT once stdout or stderr matches this (before interruptAfterMs, if both are set). */
  readonly interruptWhen?: RegExp;
  /** Runs just before the SIGINT (to look at what is running at that moment). */
  readonly beforeInterrupt?: () => Promise<void>;
  /** SIGKILL the group after this long; the result then says so in `signal`. */
  readonly timeoutMs?: number;
}

export function sh(line: string, options: ShellOptions): Promise<ShellResult> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', line], {
      cwd: options.cwd ?? REPO_ROOT,
      env: options.env,
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let interrupted = false;
    const interrupt = (): void => {
      if (interrupted || child.pid === undefined) return;
      interrupted = true;
      const pid = child.pid;
      void (options.beforeInterrupt?.() ?? Promise.resolve()).finally(() => signalGroup(pid, 'SIGINT'));
    };
    const onOutput = (): void => {
      if (options.interruptWhen?.test(stdout + stderr)) interrupt();
    };
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      onOutput();
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      onOutput();
    });
    // A line that exits before reading its input (most do) makes this write fail with EPIPE.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.stdin ?? '');
    const timers = [
      options.interruptAfterMs === undefined ? undefined : setTimeout(interrupt, options.interruptAfterMs),
      setTimeout(
        () => child.pid !== undefined && signalGroup(child.pid, 'SIGKILL'),
        options.timeoutMs ?? 300_000,
      ),
    ];
    child.on('close', (code, signal) => {
      for (const t of timers) clearTimeout(t);
      resolve({ line, code: code ?? undefined, signal: signal ?? undefined, stdout, stderr });
    });
  });
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** A failure message that shows what the user would have seen. */
export function shown(r: ShellResult): string {
  return `$ ${r.line}\n(exit ${r.code ?? r.signal})\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}
