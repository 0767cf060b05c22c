// SPDX-License-Identifier: Apache-2.0
// The floor of a Node CLI started from a startup snapshot (bench/cli --with-floor): Node with an
// empty user-land snapshot that, for a call that would read from the API server, loads `https`
// and makes a TLS context (which reads Node's bundled root certificates even when a kubeconfig
// names its own CA: nodejs/node#56301), and does nothing else — no oclif, no kubeconfig, no request.
// What is left between this and the CLI is the CLI's own work.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const SCRIPT = `require('node:v8').startupSnapshot.setDeserializeMainFunction(() => {
  if (process.argv.slice(1).includes('--help')) return;
  process.getBuiltinModule('node:https');
  process.getBuiltinModule('node:tls').createSecureContext({});
});
`;

/** Builds the empty snapshot with this Node; returns the arguments that start a call from it. */
export function floorArgv(): (args: readonly string[]) => readonly string[] {
  const dir = mkdtempSync(path.join(tmpdir(), 'wasmfleet-bench-floor-'));
  const script = path.join(dir, 'floor.cjs');
  const blob = path.join(dir, 'floor.blob');
  writeFileSync(script, SCRIPT);
  const built = spawnSync(process.execPath, ['--snapshot-blob', blob, '--build-snapshot', script], {
    encoding: 'utf8',
  });
  if (built.status !== 0) throw new Error(`cannot build the floor snapshot: ${built.stderr}`);
  return (args) => [process.execPath, '--snapshot-blob', blob, '--', ...args];
}
