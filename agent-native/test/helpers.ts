// SPDX-License-Identifier: Apache-2.0
// Starts the native agent (agent-native/, built or found by test-support's ensureNativeAgent)
// as a device process against a real broker, the way a user's service unit starts it.
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ensureNativeAgent, spawnManaged, type ManagedProcess } from '@wasmfleet/test-support';

let binary: Promise<string> | undefined;

/** The native agent's binary (built once per test process when the cache has none). */
export function nativeAgentBinary(): Promise<string> {
  binary ??= ensureNativeAgent({ progress: (line) => console.error(`[native agent] ${line}`) }).then(
    (b) => b.path,
  );
  return binary;
}

export interface NativeAgent {
  readonly process: ManagedProcess;
  readonly dataDir: string;
  readonly logFile: string;
  log(): Promise<string>;
}

export async function startNativeAgent(
  brokerUrl: string,
  node: string,
  options: { dataDir?: string; args?: readonly string[]; env?: NodeJS.ProcessEnv } = {},
): Promise<NativeAgent> {
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(tmpdir(), 'wasmfleet-native-')));
  const logFile = path.join(dataDir, `agent-${Date.now()}.log`);
  const proc = spawnManaged(`native agent ${node}`, await nativeAgentBinary(), {
    args: [
      '--broker',
      brokerUrl,
      '--node',
      node,
      '--data-dir',
      dataDir,
      '--heartbeat',
      '1',
      ...(options.args ?? []),
    ],
    logFile,
    env: { ...process.env, ...options.env },
  });
  return { process: proc, dataDir, logFile, log: () => readFile(logFile, 'utf8').catch(() => '') };
}
