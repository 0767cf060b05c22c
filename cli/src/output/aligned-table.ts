// SPDX-License-Identifier: Apache-2.0
// kubectl's table layout — columns padded to their widest cell, three spaces between them — as
// cli-table3 draws it with no borders, but without cli-table3's per-cell machinery (option
// merging, layout, truncation checks, string-width on every cell): for `get nodes` on 20 devices
// that machinery was ~10 ms of a ~140 ms call (docs/adr/0046). When every cell is one line of
// printable ASCII (colour codes allowed), each character is one column wide and the result is
// exactly cli-table3's; anything else (a line break, a wide or combining character, a control
// code) is drawn by cli-table3 itself, so the output never differs. Pure.
import Table from 'cli-table3';

/** What cli-table3 strips before measuring a cell (its utils.codeRegex): SGR colour codes. */
const SGR = new RegExp(String.raw`\u001b\[(?:\d*;){0,5}\d*m`, 'g');
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** A cell's width in columns when it is one line of printable ASCII after colour codes, else undefined. */
function asciiWidth(cell: string): number | undefined {
  const plain = cell.includes('\u001b') ? cell.replace(SGR, '') : cell;
  return PRINTABLE_ASCII.test(plain) ? plain.length : undefined;
}

export class AlignedTable {
  private readonly head: readonly string[];
  private readonly rows: string[][] = [];

  constructor(head: readonly string[]) {
    this.head = head;
  }

  push(...rows: string[][]): void {
    this.rows.push(...rows);
  }

  /** The table's lines joined by newlines, without a final one (as cli-table3's toString). */
  toString(): string {
    const all = [this.head, ...this.rows];
    const measured = measure(all);
    if (measured === undefined) return this.drawnByCliTable3();
    const { widths, cells } = measured;
    return all
      .map((row, r) => row.map((cell, i) => cell + ' '.repeat((widths[i] ?? 0) - (cells[r]?.[i] ?? 0))))
      .map((padded) => padded.join('   '))
      .join('\n');
  }

  private drawnByCliTable3(): string {
    const table = new Table({
      head: [...this.head],
      chars: NO_BORDER,
      style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
    });
    table.push(...this.rows);
    return table.toString();
  }
}

/**
 * Each cell's width and each column's (its widest cell's), or undefined when a cell is not plain
 * ASCII or a row's length differs from the header's.
 */
function measure(rows: readonly (readonly string[])[]): { widths: number[]; cells: number[][] } | undefined {
  const columns = rows[0]?.length ?? 0;
  // cli-table3 makes every column at least one wide, even when all its cells are empty.
  const widths = new Array<number>(columns).fill(1);
  const measured: number[][] = [];
  for (const row of rows) {
    if (row.length !== columns) return undefined;
    const cells: number[] = [];
    for (let i = 0; i < columns; i++) {
      const width = asciiWidth(row[i] ?? '');
      if (width === undefined) return undefined;
      cells.push(width);
      if (width > (widths[i] ?? 0)) widths[i] = width;
    }
    measured.push(cells);
  }
  return { widths, cells: measured };
}

const NO_BORDER = {
  top: '',
  'top-mid': '',
  'top-left': '',
  'top-right': '',
  bottom: '',
  'bottom-mid': '',
  'bottom-left': '',
  'bottom-right': '',
  left: '',
  'left-mid': '',
  mid: '',
  'mid-mid': '',
  right: '',
  'right-mid': '',
  middle: '   ',
};
