// SPDX-License-Identifier: Apache-2.0
// What `--verbose` shows (docs/adr/0035): the CLI's own structured log on stderr — the kubeconfig
// context chosen, each API request with its status and time, broker connections — apart from
// what a command prints. One logger per process, set once by the command that runs; quiet
// (warnings only) without --verbose.
import { createLogger, parseLogSettings, type Logger } from '@wasmfleet/api';

let current: Logger | undefined;

/** The CLI's logger (made on first use from $WASMFLEET_LOG_LEVEL/FORMAT if no command set one). */
export function diagnostics(): Logger {
  return (current ??= cliLogger(false));
}

/** Sets the process's logger from the command's --verbose; $WASMFLEET_LOG_FORMAT picks json or text. */
export function startDiagnostics(verbose: boolean): Logger {
  current = cliLogger(verbose);
  return current;
}

function cliLogger(verbose: boolean): Logger {
  let settings: ReturnType<typeof parseLogSettings> = {};
  try {
    settings = parseLogSettings({}, process.env);
  } catch {
    // A bad $WASMFLEET_LOG_* must not stop a command that does not log: defaults then.
  }
  return createLogger({
    component: 'cli',
    level: verbose ? 'debug' : (settings.level ?? 'warn'),
    ...(settings.format ? { format: settings.format } : {}),
  });
}
