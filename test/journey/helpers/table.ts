// SPDX-License-Identifier: Apache-2.0
// Reads a kubectl-style table (a header row, columns aligned at the header's words) into rows of
// named cells, so that checks name the columns they care about and tolerate columns added later.
export type Row = Readonly<Record<string, string>>;

export function parseTable(text: string): Row[] {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const header = lines[0] ?? '';
  const starts = [...header.matchAll(/\S+/g)].map((m) => ({ name: m[0], at: m.index }));
  return lines
    .slice(1)
    .map((line) =>
      Object.fromEntries(
        starts.map((c, i) => [c.name, line.slice(c.at, starts[i + 1]?.at ?? line.length).trim()]),
      ),
    );
}

/** The row whose first column is `name`. */
export function rowNamed(rows: readonly Row[], name: string): Row | undefined {
  return rows.find((r) => Object.values(r)[0] === name);
}
