// SPDX-License-Identifier: Apache-2.0
// A real agent process (agent/bin/wasmfleet-agent.js) against a real broker, for the fuzz targets
// that feed it over MQTT. A crash is the process exiting on its own; the log file is the agent's
// stderr, where it reports the documents it refuses.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawnManaged, type ManagedProcess } from '@wasmfleet/test-support';

const AGENT_BIN = new URL('../../../agent/bin/wasmfleet-agent.js', import.meta.url).pathname;

export interface LiveAgent {
  readonly node: string;
  readonly process: ManagedProcess;
  /** Exit code or signal when the agent is gone, else undefined. */
  exited(): number | string | undefined;
  log(): Promise<string>;
  /** Throws with the agent's log tail when it is no longer running. */
  assertAlive(what: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startLiveAgent(brokerUrl: string, node: string): Promise<LiveAgent> {
  const dir = await mkdtemp(path.join(tmpdir(), 'wasmfleet-fuzz-agent-'));
  const logFile = path.join(dir, 'agent.log');
  const proc = spawnManaged(`agent ${node}`, process.execPath, {
    args: [
      AGENT_BIN,
      '--broker',
      brokerUrl,
      '--node',
      node,
      '--data-dir',
      path.join(dir, 'data'),
      '--heartbeat',
      '1',
    ],
    logFile,
  });
  let code: number | string | undefined;
  void proc.exited.then((c) => (code = c));
  const log = () => readFile(logFile, 'utf8').catch(() => '');
  return {
    node,
    process: proc,
    exited: () => code,
    log,
    async assertAlive(what) {
      if (code === undefined) return;
      const tail = (await log()).split('\n').slice(-30).join('\n');
      throw new Error(`the agent crashed (exit ${code}) ${what}; its last log lines:\n${tail}`);
    },
    async stop() {
      await proc.stop(10_000);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
