// SPDX-License-Identifier: Apache-2.0
// The device runtime under test, as a process the kit starts from the user's --agent-cmd with
// the documented flags appended (docs/conformance.md, "What the runtime must accept"). Nothing
// else about it is known: it is judged only by what it does on the broker and how it exits.
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { spawnManaged, type ManagedProcess } from '@wasmfleet/test-support';

export interface AgentStart {
  readonly node: string;
  readonly brokerUrl: string;
  /** Its data directory (kept across restarts of one check). */
  readonly dataDir: string;
  readonly heartbeatSeconds?: number;
  /** More documented flags, e.g. ['--trusted-keys', dir] or ['--mqtt-version', '4']. */
  readonly extraArgs?: readonly string[];
}

export interface AgentUnderTest {
  readonly node: string;
  readonly dataDir: string;
  readonly process: ManagedProcess;
  /** Its stdout and stderr so far. */
  log(): Promise<string>;
  /** SIGTERM; resolves with how it exited (or 'killed' when it had to be after `graceMs`). */
  stop(graceMs?: number): Promise<number | string>;
  /** SIGKILL. */
  kill(): Promise<void>;
  /** Exit code or signal once it has exited by itself, else undefined. */
  exited(): number | string | undefined;
}

/** Starts `agentCmd` through /bin/sh with the documented flags; `logDir` receives its output. */
export async function startAgentUnderTest(
  agentCmd: string,
  start: AgentStart,
  logDir: string,
): Promise<AgentUnderTest> {
  await mkdir(start.dataDir, { recursive: true });
  await mkdir(logDir, { recursive: true });
  const logFile = path.join(logDir, `${start.node}.log`);
  const args = [
    '--broker',
    start.brokerUrl,
    '--node',
    start.node,
    '--data-dir',
    start.dataDir,
    '--heartbeat',
    String(start.heartbeatSeconds ?? 1),
    ...(start.extraArgs ?? []),
  ];
  // The user's command may carry its own arguments (`node agent.js`, `cargo run --`); the flags
  // follow them. `exec` so signals reach the runtime itself, not the shell.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('WASMFLEET_')));
  const proc = spawnManaged(`agent ${start.node}`, '/bin/sh', {
    args: ['-c', `exec ${agentCmd} "$@"`, 'agent-under-test', ...args],
    logFile,
    env,
  });
  let code: number | string | undefined;
  void proc.exited.then((c) => (code = c));
  return {
    node: start.node,
    dataDir: start.dataDir,
    process: proc,
    log: () => readFile(logFile, 'utf8').catch(() => ''),
    async stop(graceMs = 15_000) {
      if (code !== undefined) return code;
      const killed = { yes: false };
      const timer = setTimeout(() => {
        killed.yes = true;
        proc.child.kill('SIGKILL');
      }, graceMs);
      proc.child.kill('SIGTERM');
      const result = await proc.exited;
      clearTimeout(timer);
      return killed.yes ? 'killed' : result;
    },
    kill: () => proc.kill(),
    exited: () => code,
  };
}
