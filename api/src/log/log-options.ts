// SPDX-License-Identifier: Apache-2.0
// --log-level and --log-format (and $WASMFLEET_LOG_LEVEL, $WASMFLEET_LOG_FORMAT), read the same
// way by the operator and the agent: a bad value is refused with the values that would do.
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from './logger.ts';

export interface LogSettings {
  readonly level?: LogLevel;
  readonly format?: LogFormat;
}

function oneOf<T extends string>(value: string, allowed: readonly T[], source: string): T {
  const v = value.trim().toLowerCase();
  const found = allowed.find((a) => a === v);
  if (found === undefined)
    throw new Error(`${source} ${JSON.stringify(value)}: use one of ${allowed.join(', ')}`);
  return found;
}

/**
 * The log settings from flags, else the environment. Throws an Error naming the flag or variable
 * whose value is not a level or format.
 */
export function parseLogSettings(
  flags: { readonly 'log-level'?: string | undefined; readonly 'log-format'?: string | undefined },
  env: NodeJS.ProcessEnv,
): LogSettings {
  const level = flags['log-level'] ?? env.WASMFLEET_LOG_LEVEL;
  const format = flags['log-format'] ?? env.WASMFLEET_LOG_FORMAT;
  const source = (flag: string, variable: string, given: string | undefined) =>
    given !== undefined ? flag : variable;
  return {
    ...(level === undefined || level === ''
      ? {}
      : {
          level: oneOf(level, LOG_LEVELS, source('--log-level', 'WASMFLEET_LOG_LEVEL', flags['log-level'])),
        }),
    ...(format === undefined || format === ''
      ? {}
      : {
          format: oneOf(
            format,
            LOG_FORMATS,
            source('--log-format', 'WASMFLEET_LOG_FORMAT', flags['log-format']),
          ),
        }),
  };
}
