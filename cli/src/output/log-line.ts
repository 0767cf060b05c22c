// SPDX-License-Identifier: Apache-2.0
// `wasmfleet logs` lines: NODE  TIME  LEVEL  TEXT, the level coloured on a terminal. Pure.
import type { LogLine } from '@wasmfleet/api';
import { style } from './style.ts';

const LEVEL_COLOUR: Record<LogLine['level'], (t: string) => string> = {
  debug: style.dim,
  info: (t) => t,
  warn: style.warn,
  error: style.bad,
};

export function formatLogLine(line: LogLine, nodeWidth: number): string {
  const level = line.level.toUpperCase();
  const colour = LEVEL_COLOUR[line.level];
  return `${line.node.padEnd(nodeWidth)}  ${line.ts}  ${colour(level)}${' '.repeat(5 - level.length)}  ${line.text}`;
}
