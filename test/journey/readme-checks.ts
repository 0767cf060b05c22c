// SPDX-License-Identifier: Apache-2.0
// What each command of the README's Quick start must print against a fresh `scripts/dev-up`
// stack (3 climate devices, a camera, the three sample functions). A README command with no
// check here fails the journey, so the README cannot show a command nobody ran.
import assert from 'node:assert/strict';
import { shown, type ShellResult } from './helpers/shell.ts';
import { parseTable, rowNamed } from './helpers/table.ts';

export interface ReadmeCheck {
  readonly match: RegExp;
  readonly check: (r: ShellResult) => void;
  /** Interrupt (Ctrl-C) once the output matches: for commands that follow until stopped. */
  readonly interruptWhen?: RegExp;
  /** Feed dev-sensor-1 readings that cross temp-alert's threshold while it runs. */
  readonly hot?: boolean;
  /** Reset temp-alert's state on dev-sensor-1 first (it alerts when crossing, not while above). */
  readonly cool?: boolean;
}

/** The command lines of the Quick start's ```sh blocks, without comments. */
export function readmeCommands(readme: string): string[] {
  const start = readme.indexOf('## Quick start');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end === -1 ? undefined : end);
  const lines: string[] = [];
  for (const block of section.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const raw of (block[1] ?? '').split('\n')) {
      const line = raw.replace(/\s+#\s.*$/, '').trim();
      if (line !== '') lines.push(line);
    }
  }
  return lines;
}

const ok = (r: ShellResult): void => assert.equal(r.code, 0, shown(r));
/** Ended by our Ctrl-C, cleanly: the program exits 0 (or 130, as a shell reports an interrupted job). */
const stoppedByCtrlC = (r: ShellResult): void =>
  assert.ok(r.code === 0 || r.code === 130, `expected exit 0 after Ctrl-C\n${shown(r)}`);

/** Columns present and values right, by name (other engineers may add columns; order is theirs). */
function expectRows(
  r: ShellResult,
  columns: readonly string[],
  rows: Record<string, Record<string, RegExp>>,
): void {
  ok(r);
  const table = parseTable(r.stdout);
  const header = Object.keys(table[0] ?? {});
  for (const c of columns) assert.ok(header.includes(c), `no ${c} column\n${shown(r)}`);
  for (const [name, cells] of Object.entries(rows)) {
    const row = rowNamed(table, name);
    assert.ok(row, `no row for ${name}\n${shown(r)}`);
    for (const [column, value] of Object.entries(cells))
      assert.match(row[column] ?? '', value, `${name} ${column}\n${shown(r)}`);
  }
}

export const NODES_TABLE = (r: ShellResult): void => {
  const climate = {
    STATUS: /^Online$/,
    SENSORS: /^temperature,humidity$/,
    FUNCTIONS: /^2$/,
    AGENT: /^\d+\.\d+/,
  };
  expectRows(r, ['NAME', 'STATUS', 'SENSORS', 'FUNCTIONS', 'AGENT', 'AGE'], {
    'dev-sensor-1': climate,
    'dev-sensor-2': climate,
    'dev-sensor-3': climate,
    'dev-camera-1': { STATUS: /^Online$/, SENSORS: /^camera/, FUNCTIONS: /^2$/ },
  });
};

export const FUNCTIONS_WIDE = (r: ShellResult): void => {
  expectRows(r, ['NAME', 'MODULE', 'READY', 'UP-TO-DATE', 'PHASE', 'AGE', 'MODE', 'DIGEST'], {
    'temp-alert': {
      READY: /^3\/3$/,
      PHASE: /^Ready$/,
      MODULE: /^configmap:temp-alert-wasm/,
      DIGEST: /^sha256:[0-9a-f]{64}$/,
    },
    'anomaly-zscore': { READY: /^4\/4$/, PHASE: /^Ready$/, MODE: /^Every$/ },
    grayscale: { READY: /^1\/1$/, PHASE: /^Ready$/ },
  });
};

/** kubectl-describe shape, with at least one Event the operator wrote (the old describe crashed here). */
export const DESCRIBE_TEMP_ALERT = (r: ShellResult): void => {
  ok(r);
  assert.match(r.stdout, /^Name:\s+temp-alert$/m, shown(r));
  assert.match(r.stdout, /^Namespace:\s+default$/m, shown(r));
  assert.match(r.stdout, /^Phase:\s+Ready$/m, shown(r));
  assert.match(r.stdout, /^Created:\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(\d+[smhd] ago\)$/m, shown(r));
  assert.match(r.stdout, /^Spec:\n(.*\n)* {2}module:\n {4}configMap:/m, shown(r));
  assert.match(
    r.stdout,
    /^Conditions:\n {2}TYPE\s+STATUS\s+REASON\s+MESSAGE\n(.*\n)* {2}Ready\s+True\s/m,
    shown(r),
  );
  assert.match(
    r.stdout,
    /^Events:\n {2}TYPE\s+REASON\s+AGE\s+MESSAGE\n {2}Normal\s+\w+\s+\d+[smhd]\s+\S/m,
    shown(r),
  );
};

export const ALERT_OUTPUT = (r: ShellResult): void => {
  ok(r);
  assert.match(
    r.stdout,
    /^alerts\/dev-sensor-1\/temperature {2}\{"alert":"high","sensor":"temperature","value":35(\.0)?,/m,
    shown(r),
  );
  // Regression: the CLI printed Node's url.parse() deprecation warning (DEP0169) on every connect.
  assert.doesNotMatch(r.stderr, /Warning/, shown(r));
};

export { expectRows };

export const README_CHECKS: readonly ReadmeCheck[] = [
  { match: /^export PATH="\$PWD\/\.tools\/bin:\$PATH"$/, check: ok },
  { match: /^wasmfleet get nodes$/, check: NODES_TABLE },
  { match: /^wasmfleet get functions -o wide$/, check: FUNCTIONS_WIDE },
  { match: /^wasmfleet describe function temp-alert$/, check: DESCRIBE_TEMP_ALERT },
  { match: /^wasmfleet invoke temp-alert --node dev-sensor-1 /, check: ALERT_OUTPUT, cool: true },
  {
    match: /^wasmfleet logs temp-alert -f$/,
    hot: true,
    // The simulated sensors spike above the threshold every ~20 s per device (agent/src/sim), so
    // a spike's WARN (dev-sensor-1's own too) may come first: Ctrl-C once the hot reading's line is shown.
    // Regression: stopping at the first WARN caught dev-sensor-2's spike at load 18.
    interruptWhen: /^dev-sensor-1\s.*\sWARN\s+temperature is 35/m,
    check: (r) => {
      stoppedByCtrlC(r);
      assert.match(
        r.stdout,
        /^dev-sensor-1\s+\d{4}-\d\d-\d\dT\S+Z\s+WARN\s+temperature is 35(\.0)? \(threshold 30(\.0)?\)$/m,
        shown(r),
      );
    },
  },
  {
    match: /^eval "\$\(wasmfleet dev env\)"$/,
    check: ok,
  },
  {
    match: /^kubectl get wasmfunctions,edgenodes$/,
    check: (r) => {
      ok(r);
      // Two tables, one per kind, each under its own header.
      const [functions = '', nodes = ''] = r.stdout.split(/\n\s*\n/);
      expectRows({ ...r, stdout: functions }, ['NAME', 'READY', 'PHASE'], {
        'wasmfunction.wasmfleet.io/temp-alert': { READY: /^3\/3$/, PHASE: /^Ready$/ },
      });
      expectRows({ ...r, stdout: nodes }, ['NAME', 'STATUS', 'SENSORS'], {
        'edgenode.wasmfleet.io/dev-sensor-1': { STATUS: /^Online$/ },
      });
    },
  },
  {
    match: /^kubectl patch wasmfunction temp-alert /,
    check: (r) => {
      ok(r);
      assert.match(r.stdout, /^wasmfunction\.wasmfleet\.io\/temp-alert patched$/m, shown(r));
    },
  },
  {
    match: /^wasmfleet rollout status temp-alert --watch$/,
    check: (r) => {
      ok(r);
      assert.match(r.stdout + r.stderr, /successfully rolled out|Complete/i, shown(r));
    },
  },
  {
    match: /^mosquitto_sub -L "\$WASMFLEET_BROKER\/alerts\/#" -v$/,
    hot: true,
    // After the README's patch the threshold is 25, which the simulated sensors' own readings
    // (24 ± 2 °C) cross too: Ctrl-C once the hot reading's alert is shown, not at the first one.
    interruptWhen: /^alerts\/dev-sensor-1\/temperature \{"alert":"high","sensor":"temperature","value":35/m,
    check: (r) => {
      stoppedByCtrlC(r);
      assert.match(
        r.stdout,
        /^alerts\/dev-sensor-1\/temperature \{"alert":"high","sensor":"temperature","value":35(\.0)?,"threshold":25(\.0)?,/m,
        shown(r),
      );
    },
  },
];
