// SPDX-License-Identifier: Apache-2.0
// What a process logged, as messages: its JSON lines (docs/adr/0035: the default when stderr is
// not a terminal, as in every test) read for their `msg`, other lines as they are. For harnesses
// that look for a line such as "serving … on http://…" in a log.

/** When a line was logged (ms since the epoch): a JSON line's `time`, else a text line's first word. */
export function logLineTime(line: string): number {
  if (line.startsWith('{')) {
    try {
      return Date.parse(String((JSON.parse(line) as { time?: unknown }).time));
    } catch {
      return NaN;
    }
  }
  return Date.parse(line.split(' ')[0] ?? '');
}

/** The message of each line of `log` (a JSON line's `msg`, else the line itself). */
export function logMessages(log: string): string[] {
  return log
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      if (!line.startsWith('{')) return line;
      try {
        const entry = JSON.parse(line) as { msg?: unknown };
        return typeof entry.msg === 'string' ? entry.msg : line;
      } catch {
        return line;
      }
    });
}
