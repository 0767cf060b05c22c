// SPDX-License-Identifier: Apache-2.0
// A progress bar line, drawn by hand: cli-progress redraws on a timer and, off a terminal,
// prints every bar on a schedule rather than once per change, which is what CI logs need.
export interface BarChars {
  readonly full: string;
  readonly empty: string;
}

export const UNICODE_BAR: BarChars = { full: '█', empty: '░' };
export const ASCII_BAR: BarChars = { full: '#', empty: '-' };

/** `[#####-----]` for value/total; total 0 counts as complete when `done`. */
export function bar(value: number, total: number, width: number, chars: BarChars, done = false): string {
  const ratio = total > 0 ? Math.min(1, Math.max(0, value / total)) : done ? 1 : 0;
  const filled = Math.round(ratio * width);
  return `[${chars.full.repeat(filled)}${chars.empty.repeat(width - filled)}]`;
}
