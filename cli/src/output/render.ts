// SPDX-License-Identifier: Apache-2.0
// Renders resources the way kubectl does: an aligned table by default, `-o wide` for more
// columns, `-o json|yaml` for machines, `-o name` for scripts.
import { stringify } from 'yaml';
import { age } from './age.ts';
import { AlignedTable } from './aligned-table.ts';
import { readPath } from './json-path.ts';
import { phaseColour, style } from './style.ts';

export const OUTPUT_FORMATS = ['table', 'wide', 'json', 'yaml', 'name'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export interface Column {
  readonly name: string;
  /** A printer-column JSONPath, or a function for computed cells. */
  readonly value: string | ((object: Record<string, unknown>) => unknown);
  readonly type?: 'string' | 'integer' | 'date' | 'phase';
  /** Shown only with -o wide (like a printer column's priority 1). */
  readonly wide?: boolean;
}

export interface Resource {
  readonly kind: string;
  readonly plural: string;
  readonly group: string;
  readonly columns: readonly Column[];
}

export function renderObjects(
  resource: Resource,
  objects: readonly Record<string, unknown>[],
  format: OutputFormat,
  options: { showNamespace?: boolean; now?: number } = {},
): string {
  if (format === 'json') {
    const list = objects.length === 1 ? objects[0] : { apiVersion: 'v1', kind: 'List', items: objects };
    return `${JSON.stringify(list, null, 2)}\n`;
  }
  if (format === 'yaml') {
    const list = objects.length === 1 ? objects[0] : { apiVersion: 'v1', kind: 'List', items: objects };
    return stringify(list);
  }
  if (format === 'name') {
    return objects
      .map(
        (o) =>
          `${resource.plural.replace(/s$/, '')}.${resource.group}/${String(readPath(o, '.metadata.name'))}\n`,
      )
      .join('');
  }
  const columns = resource.columns.filter((c) => format === 'wide' || !c.wide);
  const head = [...(options.showNamespace ? ['NAMESPACE'] : []), 'NAME', ...columns.map((c) => c.name)];
  const table = borderless(head);
  for (const object of objects) {
    const cells = columns.map((c) => cell(object, c, options.now));
    const name = String(readPath(object, '.metadata.name'));
    table.push([
      ...(options.showNamespace ? [String(readPath(object, '.metadata.namespace'))] : []),
      name,
      ...cells,
    ]);
  }
  return `${table.toString()}\n`;
}

function cell(object: Record<string, unknown>, column: Column, now?: number): string {
  const raw = typeof column.value === 'function' ? column.value(object) : readPath(object, column.value);
  if (column.type === 'date') return age(typeof raw === 'string' ? raw : undefined, now);
  if (raw === undefined || raw === null || raw === '') return '<none>';
  const text = Array.isArray(raw) ? raw.map(scalar).join(',') : scalar(raw);
  return column.type === 'phase' ? phaseColour(text) : text;
}

/** kubectl-style: no borders, three spaces between columns, bold header on a terminal. */
export function borderless(head: string[]): AlignedTable {
  return new AlignedTable(head.map((h) => style.bold(h)));
}

/** A cell's text: objects as JSON rather than "[object Object]". */
export function scalar(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  return value === undefined ? '' : JSON.stringify(value);
}
