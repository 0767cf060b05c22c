// SPDX-License-Identifier: Apache-2.0
// The CLI's tables (`get`, describe's device sections, `sign`) are drawn without cli-table3 when
// every cell is plain ASCII (docs/adr/0046). What a user sees must not change: each case is drawn
// both ways and must match cli-table3's borderless layout byte for byte, trailing spaces included.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Table from 'cli-table3';
import { AlignedTable } from '../src/output/aligned-table.ts';

/** The table the CLI drew before ADR 0046 (render.ts's borderless()). */
function cliTable3(head: string[], rows: string[][]): string {
  const none = Object.fromEntries(
    [
      'top',
      'top-mid',
      'top-left',
      'top-right',
      'bottom',
      'bottom-mid',
      'bottom-left',
      'bottom-right',
      'left',
      'left-mid',
      'mid',
      'mid-mid',
      'right',
      'right-mid',
    ].map((k) => [k, '']),
  );
  const table = new Table({
    head,
    chars: { ...none, middle: '   ' },
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
  });
  table.push(...rows);
  return table.toString();
}

function aligned(head: string[], rows: string[][]): string {
  const table = new AlignedTable(head);
  for (const row of rows) table.push(row);
  return table.toString();
}

const bold = (s: string) => `\u001b[1m${s}\u001b[22m`;
const green = (s: string) => `\u001b[32m${s}\u001b[39m`;

const CASES: Record<string, [string[], string[][]]> = {
  'plain ASCII, the widest cell in the header or in a row': [
    ['NAME', 'STATUS', 'AGE'],
    [
      ['pump-1', 'Online', '5m'],
      ['pump-10-with-a-long-name', 'Offline', '<unknown>'],
    ],
  ],
  'colour codes in the header and in cells (a terminal)': [
    [bold('NAME'), bold('STATUS')],
    [
      ['pump-1', green('Online')],
      ['pump-2', 'Offline'],
    ],
  ],
  'a header alone (no rows)': [['NAME', 'READY'], []],
  'empty cells': [
    ['NAME', 'NOTE'],
    [
      ['a', ''],
      ['', 'b'],
    ],
  ],
  'wide characters (drawn by cli-table3)': [
    ['NAME', 'MESSAGE'],
    [
      ['pump-1', '温度が高い'],
      ['pump-2', 'ok'],
    ],
  ],
  'a combining accent and an emoji (drawn by cli-table3)': [
    ['NAME', 'MESSAGE'],
    [
      ['pump-1', 'cafe\u0301'],
      ['pump-2', 'hot 🔥'],
    ],
  ],
  'a line break in a cell (drawn by cli-table3)': [
    ['NAME', 'MESSAGE'],
    [
      ['pump-1', 'first line\nsecond line'],
      ['pump-2', 'ok'],
    ],
  ],
  'a tab in a cell (drawn by cli-table3)': [['NAME', 'MESSAGE'], [['pump-1', 'a\tb']]],
};

describe('aligned tables', () => {
  for (const [name, [head, rows]] of Object.entries(CASES)) {
    it(`match cli-table3's borderless layout: ${name}`, () => {
      assert.equal(aligned(head, rows), cliTable3(head, rows));
    });
  }

  it('match cli-table3 on many generated ASCII tables with colour codes', () => {
    let seed = 7;
    const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31);
    const word = () => {
      const text = Array.from({ length: next() % 14 }, () => String.fromCharCode(0x20 + (next() % 95))).join(
        '',
      );
      return next() % 5 === 0 ? green(text) : text;
    };
    for (let n = 0; n < 500; n++) {
      const columns = 1 + (next() % 6);
      const head = Array.from({ length: columns }, word);
      const rows = Array.from({ length: next() % 6 }, () => Array.from({ length: columns }, word));
      assert.equal(aligned(head, rows), cliTable3(head, rows), JSON.stringify({ head, rows }));
    }
  });
});
