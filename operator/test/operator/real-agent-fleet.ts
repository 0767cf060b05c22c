// SPDX-License-Identifier: Apache-2.0
// Real agents (child processes running wasm) for operator tests: one EdgeNode per device with the
// given labels in the harness's fleet, each agent with a 1 s heartbeat, started and waited Online.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnManaged, waitFor, type ManagedProcess } from '@wasmfleet/test-support';
import type { Harness } from './harness.ts';

export const AGENT_BIN = fileURLToPath(new URL('../../../agent/bin/wasmfleet-agent.js', import.meta.url));

export interface RealAgents {
  /** Node names, in the order of `shorts`. */
  readonly nodes: readonly string[];
  readonly dataDir: string;
  /** Stops one agent cleanly (it publishes its offline status); start() brings it back. */
  stopOne(node: string): Promise<void>;
  startOne(node: string): void;
  stop(): Promise<void>;
}

export async function startRealAgents(
  h: Harness,
  shorts: readonly string[],
  labels: (short: string) => Record<string, string>,
  sensors = 'temperature',
): Promise<RealAgents> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'real-agents-'));
  const agents = new Map<string, ManagedProcess>();
  const nodes = shorts.map((s) => h.nodeName(s));
  const startOne = (node: string): void => {
    agents.set(
      node,
      spawnManaged(`agent ${node}`, process.execPath, {
        args: [
          AGENT_BIN,
          ...['--broker', h.broker.url, '--node', node, '--data-dir', path.join(dataDir, node)],
          ...['--heartbeat', '1', '--sensors', sensors],
        ],
        logFile: path.join(dataDir, `${node}.log`),
      }),
    );
  };
  for (const [i, short] of shorts.entries()) {
    const node = nodes[i] ?? '';
    const meta = { name: node, labels: { ...labels(short), 'wasmfleet.io/fleet': h.fleet } };
    await h.apply(
      JSON.stringify({ apiVersion: 'wasmfleet.io/v1alpha1', kind: 'EdgeNode', metadata: meta, spec: {} }),
    );
    startOne(node);
  }
  for (const node of nodes) {
    await waitFor(
      `${node} Online`,
      async () => ((await h.node(node)).status?.phase === 'Online' ? true : undefined),
      { timeoutMs: 30_000 },
    );
  }
  return {
    nodes,
    dataDir,
    stopOne: async (node) => {
      await agents.get(node)?.stop();
      agents.delete(node);
    },
    startOne,
    stop: async () => {
      await Promise.all([...agents.values()].map((a) => a.stop()));
    },
  };
}
