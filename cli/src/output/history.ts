// SPDX-License-Identifier: Apache-2.0
// `wasmfleet rollout history`: a kubectl-like table, one revision in detail, or data for -o.
// Pure.
import { stringify } from 'yaml';
import type { Revision } from '../rollout/revisions.ts';
import { age } from './age.ts';
import { style } from './style.ts';

export function historyTable(revisions: readonly Revision[], now = Date.now()): string {
  const rows = revisions.map((r) => [
    `${r.number}${marks(r)}`,
    r.hash ?? r.name,
    age(r.created, now),
    r.changeCause ?? '<none>',
  ]);
  const head = ['REVISION', 'HASH', 'CREATED', 'CHANGE-CAUSE'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd((widths[i] ?? 0) + 3)))
      .join('')
      .trimEnd();
  return `${[style.bold(line(head)), ...rows.map(line)].join('\n')}\n`;
}

export function revisionDetail(r: Revision, now = Date.now()): string {
  const lines = [
    `${style.bold('Revision:'.padEnd(14))}${r.number}${marks(r)}`,
    `${style.bold('Hash:'.padEnd(14))}${r.hash ?? '<none>'}`,
    `${style.bold('Object:'.padEnd(14))}controllerrevision.apps/${r.name}`,
    `${style.bold('Created:'.padEnd(14))}${r.created ?? '<unknown>'} (${age(r.created, now)} ago)`,
    `${style.bold('Change-cause:'.padEnd(14))}${r.changeCause ?? '<none>'}`,
    style.bold('Spec:'),
    r.spec ? indent(stringify(r.spec).trimEnd()) : '  <none recorded>',
  ];
  return `${lines.join('\n')}\n`;
}

export function historyData(revisions: readonly Revision[]): object[] {
  return revisions.map((r) => ({
    revision: r.number,
    hash: r.hash,
    name: r.name,
    created: r.created,
    changeCause: r.changeCause,
    current: r.current,
    update: r.update,
    spec: r.spec,
  }));
}

function marks(r: Revision): string {
  if (r.current) return ' (current)';
  if (r.update) return ' (update)';
  return '';
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}
