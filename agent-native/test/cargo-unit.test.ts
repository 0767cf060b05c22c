// SPDX-License-Identifier: Apache-2.0
// The native agent's Rust unit tests (pure cores: config, wire schemas, topics and routing,
// ordered acks, the output budget, lifecycle, signatures, store, state) run with cargo, in the
// same cached target directory as the agent's release build, so CI compiles only the test harness.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cacheRoot, nativeAgentKey } from '@wasmfleet/test-support';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

it('the Rust unit tests of agent-native pass', { timeout: 30 * 60_000 }, async () => {
  // The release build's own target directory (ensureNativeAgent), wherever WASMFLEET_CACHE_DIR
  // puts it: a directory of its own would compile Wasmtime a second time (docs/adr/0054).
  const target = path.join(cacheRoot(), 'agent-native', 'target');
  const child = spawn(
    'nice',
    ['-n', '19', 'cargo', 'test', '--release', '--locked', '-p', 'wasmfleet-agent-native'],
    {
      cwd: REPO_ROOT,
      // The key makes cargo rebuild the crate's tests from this checkout, never take another
      // checkout's from the shared target directory as fresh (local-stack/src/native-agent.ts).
      env: { ...process.env, CARGO_TARGET_DIR: target, WASMFLEET_BUILD_KEY: await nativeAgentKey() },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  assert.equal(code, 0, out.slice(-6000));
  assert.match(out, /test result: ok\. \d+ passed; 0 failed/);
});
