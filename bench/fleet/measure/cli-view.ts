// SPDX-License-Identifier: Apache-2.0
// What a user sees of the fleet through the real CLI at this size (issue 18's "everything the CLI
// showed per device at 1k still shown at 100k"): `wasmfleet get nodes --broker` must give every
// device its FUNCTIONS and LAST-SEEN (read from the retained statuses, ADR 0023), `describe node
// --broker` a device's function table, `describe function` its capped device list. Counts rows
// that carry the per-device detail, and times each command with its CPU and peak RSS.
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI_BIN = fileURLToPath(new URL('../../../cli/bin/wasmfleet.js', import.meta.url));

export interface CliCommandCost {
  readonly args: string;
  readonly exitCode: number;
  readonly seconds: number;
  readonly cpuSeconds: number;
  readonly peakRssBytes: number;
}

export interface CliView {
  /** Rows `get nodes --broker` printed, and how many carried a function count and a last heartbeat. */
  readonly rows: number;
  readonly rowsWithDetail: number;
  /** What the CLI said on stderr about devices it could not read (should be nothing). */
  readonly note: string;
  /** `describe node --broker` listed the device's function with its revision and phase. */
  readonly nodeShowsFunction: boolean;
  /** `describe function` listed devices and said how many more there are. */
  readonly functionListsDevices: boolean;
  readonly commands: readonly CliCommandCost[];
}

export interface CliTarget {
  readonly kubeconfig: string;
  readonly brokerUrl: string;
  readonly fleet: string;
  readonly namespace: string;
  readonly functionName: string;
  readonly oneNode: string;
}

/** A `get nodes` row ending in FUNCTIONS 1 and a LAST-SEEN age (e.g. `12s`, `3m4s`). */
const ROW_WITH_DETAIL = /\s1\s+\d+[smhd]\S*$/;

export async function cliView(t: CliTarget): Promise<CliView> {
  const get = await runCli(
    ['get', 'nodes', '-l', `wasmfleet.io/fleet=${t.fleet}`, '--broker', t.brokerUrl],
    t,
  );
  const rows = get.stdout.trimEnd().split('\n').slice(1);
  const node = await runCli(['describe', 'node', t.oneNode, '--broker', t.brokerUrl], t);
  const fn = await runCli(['describe', 'function', t.functionName, '-n', t.namespace], t);
  return {
    rows: rows.length,
    rowsWithDetail: rows.filter((r) => ROW_WITH_DETAIL.test(r.trimEnd())).length,
    note: get.stderr.trim(),
    nodeShowsFunction: new RegExp(`${t.namespace}/${t.functionName}\\s+[0-9a-f]{12}\\s+Running\\s`).test(
      node.stdout,
    ),
    functionListsDevices: /Devices:[\s\S]*more devices not listed/.test(fn.stdout),
    commands: [get.cost, node.cost, fn.cost],
  };
}

interface CliRun {
  readonly stdout: string;
  readonly stderr: string;
  readonly cost: CliCommandCost;
}

/** The bundled CLI under GNU time (`%e %U %S %M` on the last stderr line). */
function runCli(args: readonly string[], t: CliTarget): Promise<CliRun> {
  const devDir = mkdtempSync(path.join(tmpdir(), 'bench-cli-'));
  return new Promise((resolve) => {
    execFile(
      '/usr/bin/time',
      ['-f', '%e %U %S %M', process.execPath, CLI_BIN, ...args, '--kubeconfig', t.kubeconfig],
      {
        env: { ...process.env, NO_COLOR: '1', KUBECONFIG: '', WASMFLEET_DEV_DIR: devDir },
        maxBuffer: 512 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const lines = stderr.trimEnd().split('\n');
        const [e = 0, u = 0, s = 0, kb = 0] = (lines.pop() ?? '').split(' ').map(Number);
        resolve({
          stdout,
          stderr: lines.join('\n'),
          cost: {
            args: args.slice(0, 3).join(' '),
            exitCode: error ? (typeof error.code === 'number' ? error.code : 1) : 0,
            seconds: e,
            cpuSeconds: u + s,
            peakRssBytes: kb * 1024,
          },
        });
      },
    );
  });
}
