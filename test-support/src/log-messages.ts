// SPDX-License-Identifier: Apache-2.0
// What a process logged, as messages: its JSON lines (docs/adr/0035: the default when stderr is
// not a terminal, as in every test) read for their `msg`, other lines as they are. For harnesses
// that look for a line such as "serving … on http://…" in a log.

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
