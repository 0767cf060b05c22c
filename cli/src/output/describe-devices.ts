// The per-device sections of `describe`, as tables rather than YAML so a failing device reads at
// a glance: a function's devices (status.nodes, failing first, capped by the operator) and a
// device's functions (status.functions). Pure.
import { readPath } from './json-path.ts';
import { borderless } from './render.ts';
import { phaseColour, style } from './style.ts';

/** Status keys these sections show, left out of the YAML dump. */
export const TABLED_STATUS_KEYS = new Set(['nodes', 'functions']);

type Row = Partial<Record<string, unknown>>;

const text = (value: unknown): string =>
  typeof value === 'string' ? value : typeof value === 'number' ? String(value) : '';

function section(title: string, head: string[], rows: string[][], note?: string): string[] {
  const lines = [style.bold(`${title}:`)];
  if (rows.length === 0) lines.push('  <none>');
  else {
    const table = borderless(head);
    for (const row of rows) table.push(row);
    lines.push(
      ...table
        .toString()
        .split('\n')
        .map((l) => `  ${l}`),
    );
  }
  if (note) lines.push(`  ${note}`);
  return lines;
}

/** A WasmFunction's devices: NODE, REVISION, PHASE, REASON, MESSAGE. */
function functionDevices(object: Record<string, unknown>): string[] {
  const nodes = (readPath(object, '.status.nodes') ?? []) as Row[];
  const omitted = Number(readPath(object, '.status.nodesOmitted') ?? 0);
  const rows = nodes.map((n) => [
    text(n.node),
    text(n.revision) || '<none>',
    phaseColour(text(n.phase)),
    text(n.reason) || '-',
    text(n.message),
  ]);
  const note = omitted > 0 ? `(${omitted} more devices not listed: failing devices come first)` : undefined;
  return section('Devices', ['NODE', 'REVISION', 'PHASE', 'REASON', 'MESSAGE'], rows, note);
}

/** An EdgeNode's functions: FUNCTION, REVISION, PHASE, REASON, CALLS, ERRORS, LAST ERROR. */
function nodeFunctions(object: Record<string, unknown>): string[] {
  const functions = (readPath(object, '.status.functions') ?? []) as Row[];
  const rows = functions.map((f) => [
    `${text(f.namespace)}/${text(f.name)}`,
    text(f.revision) || '<none>',
    phaseColour(text(f.phase)),
    text(f.reason) || '-',
    text(f.invocations) || '0',
    text(f.errors) || '0',
    text(f.lastError),
  ]);
  return section(
    'Functions',
    ['FUNCTION', 'REVISION', 'PHASE', 'REASON', 'CALLS', 'ERRORS', 'LAST ERROR'],
    rows,
  );
}

/** The table sections for this kind of object (none for other kinds). */
export function deviceSections(object: Record<string, unknown>): string[] {
  const kind = readPath(object, '.kind');
  if (kind === 'WasmFunction') return functionDevices(object);
  if (kind === 'EdgeNode') return nodeFunctions(object);
  return [];
}
