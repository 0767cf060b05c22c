// SPDX-License-Identifier: Apache-2.0
// Runs the real operator binary as a child process (for leader election and crash tests).
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { logMessages, waitFor } from '@wasmfleet/test-support';

export const OPERATOR_BIN = fileURLToPath(new URL('../../bin/wasmfleet-operator.ts', import.meta.url));

export interface OperatorProcess {
  readonly child: ChildProcess;
  readonly log: string[];
  opsUrl(): Promise<string>;
  readyz(): Promise<number>;
  metric(name: string): Promise<number>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export function spawnOperator(args: readonly string[], kubeconfig: string): OperatorProcess {
  const child = spawn(
    process.execPath,
    [OPERATOR_BIN, '--kubeconfig', kubeconfig, '--ops-bind-address', '127.0.0.1:0', ...args],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  const log: string[] = [];
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => log.push(...chunk.split('\n').filter(Boolean)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const opsUrl = () =>
    waitFor('the operator to serve /readyz', () => {
      for (const line of logMessages(log.join('\n'))) {
        const m = /serving .* on (http:\/\/\S+)/.exec(line);
        if (m?.[1]) return m[1];
      }
      if (child.exitCode !== null) throw new Error(`operator exited ${child.exitCode}:\n${log.join('\n')}`);
      return undefined;
    });
  return {
    child,
    log,
    opsUrl,
    readyz: async () => (await fetch(`${await opsUrl()}/readyz`)).status,
    metric: async (name) => {
      const text = await (await fetch(`${await opsUrl()}/metrics`)).text();
      let total = 0;
      for (const line of text.split('\n'))
        if (line.startsWith(name) && !line.startsWith('#')) total += Number(line.split(' ').pop());
      return total;
    },
    kill: async (signal = 'SIGKILL') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
