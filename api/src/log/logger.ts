// SPDX-License-Identifier: Apache-2.0
// The structured logger of the operator, the agent and the CLI (docs/adr/0035): levels, a
// `component`, fields that a child logger adds (controller-runtime's WithValues: `controller`,
// `object`, `reconcileID`), one line per entry. JSON lines where a machine reads the stream (a
// container, a file, a pipe), a readable line on a terminal; every line redacted (redact.ts).
// In-house rather than pino: the agent's memory budget and one synchronous write per line; the
// measurements are in the ADR.
import { redactField, redactLine } from './redact.ts';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['json', 'text'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
export type LogFields = Readonly<Record<string, unknown>>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger whose every line also carries `fields` (and overrides `component` if it names one). */
  with(fields: LogFields): Logger;
  /** Whether a line at `level` would be written (to skip building an expensive one). */
  enabled(level: LogLevel): boolean;
}

export interface LoggerOptions {
  readonly component: string;
  /** Lines below this level are dropped (default info). */
  readonly level?: LogLevel;
  /** Default: text when the stream is a terminal, JSON lines otherwise. */
  readonly format?: LogFormat;
  /** Where each line goes, newline included (default: process.stderr, synchronously enough). */
  readonly write?: (line: string) => void;
  /**
   * Text lines start with the time and name the component (default true; an embedder that
   * stamps and prefixes lines itself says false).
   */
  readonly stamp?: boolean;
  /** Colour the level of text lines (default: on a terminal unless NO_COLOR is set). */
  readonly color?: boolean;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const TEXT_LEVEL: Record<LogLevel, string> = { debug: 'DEBUG', info: 'INFO ', warn: 'WARN ', error: 'ERROR' };
const COLOR: Record<LogLevel, string> = {
  debug: '\x1b[2m',
  info: '\x1b[36m',
  warn: '\x1b[33m',
  error: '\x1b[31m',
};

/** Whether stderr is a terminal a person reads (the default format and colour follow it). */
export function stderrIsTerminal(): boolean {
  return process.stderr.isTTY;
}

/**
 * A field's value as a line may carry it, before any formatting: secret-named fields masked and
 * URLs redacted at any depth (redact.ts), an Error as its text (with its class unless a plain Error).
 */
function clean(key: string, value: unknown, depth = 0): unknown {
  const v = redactField(key, value);
  if (typeof v === 'string') return redactLine(v);
  if (v instanceof Error) return redactLine(`${v.name === 'Error' ? '' : `${v.name}: `}${v.message}`);
  if (typeof v === 'bigint') return v.toString();
  if (v === null || typeof v !== 'object') return v;
  if (depth >= 4) return '[nested too deep]';
  if (Array.isArray(v)) return v.map((item, i) => clean(String(i), item, depth + 1));
  return Object.fromEntries(Object.entries(v).map(([k, item]) => [k, clean(k, item, depth + 1)]));
}

function jsonLine(time: Date, level: LogLevel, msg: string, fields: LogFields): string {
  const entry: Record<string, unknown> = {
    time: time.toISOString(),
    level,
    component: fields.component,
    msg,
  };
  for (const [key, value] of Object.entries(fields))
    if (value !== undefined && !(key in entry)) entry[key] = clean(key, value);
  return JSON.stringify(entry);
}

/** logfmt-style value: bare when it has no space, quote or `=`; otherwise JSON-quoted. */
function textValue(value: unknown): string {
  const s = typeof value === 'string' ? value : JSON.stringify(value);
  return /^[^\s"=]+$/.test(s) ? s : JSON.stringify(s);
}

function textLine(
  options: { stamp: boolean; color: boolean },
  time: Date,
  level: LogLevel,
  msg: string,
  fields: LogFields,
): string {
  const { component, ...rest } = fields;
  const label = options.color ? `${COLOR[level]}${TEXT_LEVEL[level]}\x1b[0m` : TEXT_LEVEL[level];
  let line = options.stamp
    ? `${time.toISOString()} ${label} ${String(component)}: ${msg}`
    : `${label} ${msg}`;
  for (const [key, value] of Object.entries(rest))
    if (value !== undefined) line += ` ${key}=${textValue(clean(key, value))}`;
  return line;
}

export function createLogger(options: LoggerOptions): Logger {
  const terminal = options.format === undefined || options.color === undefined ? stderrIsTerminal() : false;
  const format = options.format ?? (terminal ? 'text' : 'json');
  const text = {
    stamp: options.stamp ?? true,
    color: options.color ?? (terminal && format === 'text' && !process.env.NO_COLOR),
  };
  const write = options.write ?? ((line: string) => void process.stderr.write(line));
  const threshold = RANK[options.level ?? 'info'];
  const make = (fields: LogFields): Logger => {
    const emit = (level: LogLevel, msg: string, extra: LogFields | undefined): void => {
      if (RANK[level] < threshold) return;
      const all = extra ? { ...fields, ...extra } : fields;
      const now = new Date();
      const safe = redactLine(msg);
      write(
        `${format === 'json' ? jsonLine(now, level, safe, all) : textLine(text, now, level, safe, all)}\n`,
      );
    };
    return {
      debug: (msg, extra) => emit('debug', msg, extra),
      info: (msg, extra) => emit('info', msg, extra),
      warn: (msg, extra) => emit('warn', msg, extra),
      error: (msg, extra) => emit('error', msg, extra),
      with: (more) => make({ ...fields, ...more }),
      enabled: (level) => RANK[level] >= threshold,
    };
  };
  return make({ component: options.component });
}

/** A logger that writes nothing (tests, benchmarks, embedders that log elsewhere). */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  with: () => silentLogger,
  enabled: () => false,
};
