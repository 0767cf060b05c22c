// SPDX-License-Identifier: Apache-2.0
// The kit's command line: `npm run conformance -- --agent-cmd '<command>' [...]`.
import { parseArgs } from 'node:util';

export const USAGE = `wasmfleet-conformance — checks a WasmFleet device runtime against the MQTT contract and the guest ABI

Usage: npm run conformance -- --agent-cmd '<command>' [options]

  --agent-cmd <command>   how to start the runtime under test; the kit appends
                          --broker, --node, --data-dir, --heartbeat (and, for some
                          checks, --trusted-keys); see docs/conformance.md
  --only <a,b,...>        run only these checks (a name, or an area ending in '.', e.g. desired.)
  --skip <a,b,...>        skip these
  --timeout-scale <x>     multiply every deadline (default 1; e.g. 3 on a slow device)
  --report <file>         also write the report as JSON
  --keep                  keep each check's directory (runtime logs and data) for inspection
  --list                  list the checks and what each proves, then exit
  -h, --help              this help

Exit status: 0 when every check passed, 1 when one failed, 2 for a usage error.
`;

export interface KitOptions {
  readonly agentCmd: string;
  readonly only: string[];
  readonly skip: string[];
  readonly timeoutScale: number;
  readonly report: string | undefined;
  readonly keep: boolean;
}

export class UsageError extends Error {}

export function parseKitOptions(argv: readonly string[]): KitOptions | 'help' | 'list' {
  let values;
  try {
    values = parseArgs({
      args: [...argv],
      options: {
        'agent-cmd': { type: 'string' },
        only: { type: 'string' },
        skip: { type: 'string' },
        'timeout-scale': { type: 'string' },
        report: { type: 'string' },
        keep: { type: 'boolean' },
        list: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (error) {
    throw new UsageError(`${(error as Error).message}; see --help`);
  }
  if (values.help) return 'help';
  if (values.list) return 'list';
  const agentCmd = values['agent-cmd']?.trim();
  if (!agentCmd)
    throw new UsageError(
      "no runtime to check: pass --agent-cmd '<command>', e.g. --agent-cmd 'node agent/bin/wasmfleet-agent.js'",
    );
  const list = (v: string | undefined): string[] =>
    (v ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  const scale = Number(values['timeout-scale'] ?? '1');
  if (!Number.isFinite(scale) || scale <= 0)
    throw new UsageError(
      `--timeout-scale ${values['timeout-scale'] ?? ''}: expected a positive number, e.g. 2`,
    );
  return {
    agentCmd,
    only: list(values.only),
    skip: list(values.skip),
    timeoutScale: scale,
    report: values.report,
    keep: values.keep ?? false,
  };
}
