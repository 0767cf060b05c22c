// SPDX-License-Identifier: Apache-2.0
// Small formatters shared by messages and events, so both read the same.

/** 0.002 → "0.2%", 0.125 → "12.5%". */
export function formatRate(rate: number): string {
  return `${Number((rate * 100).toFixed(2))}%`;
}

/** 600000 → "600s"; durations are shown in seconds, as progressDeadlineSeconds is written. */
export function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))}s`;
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
