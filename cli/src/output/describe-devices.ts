// SPDX-License-Identifier: Apache-2.0
// The per-device sections of `describe`, as tables rather than YAML so a failing device reads at
// a glance: a function's devices (status.nodes, failing first, capped by the operator), and a
// device's functions — from its own retained status on the broker when the CLI could read it
// (every function: revision, phase, calls, errors; its heartbeat and sensors), otherwise the
// failing ones the EdgeNode summary keeps (ADR 0023). Pure.
import { functionKey, type NodeStatus } from '@wasmfleet/api';
import { age } from './age.ts';
import { readPath } from './json-path.ts';
import { borderless } from './render.ts';
import { phaseColour, style } from './style.ts';

/** Status keys these sections show, left out of the YAML dump. */
export const TABLED_STATUS_KEYS = new Set(['nodes', 'functions', 'failing']);

/** What the CLI read from the broker about this device, or why it could not. */
export interface DeviceView {
  readonly status?: NodeStatus | undefined;
  readonly problem?: string | undefined;
}

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
  if (note) lines.push(`  ${style.dim(note)}`);
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

/** Every function the device reports, from its retained status. */
function liveFunctions(status: NodeStatus, now: number): string[] {
  const lines = [
    style.bold('Device (its retained status on the broker):'),
    `  ${'State:'.padEnd(18)}${phaseColour(status.state === 'online' ? 'Online' : 'Offline')}`,
  ];
  if (status.heartbeatAt)
    lines.push(
      `  ${'Last heartbeat:'.padEnd(18)}${status.heartbeatAt} (${age(status.heartbeatAt, now)} ago)`,
    );
  if (status.agentVersion)
    lines.push(`  ${'Agent:'.padEnd(18)}${status.agentVersion} (${status.nodeVersion ?? '?'})`);
  const buffer = status.outputBuffer;
  if (buffer)
    lines.push(
      `  ${'Output buffer:'.padEnd(18)}${buffer.messages}/${buffer.maxMessages} messages, ${buffer.dropped} dropped`,
    );
  const sensors = (status.sensors ?? []).map((s) => [
    s.name,
    s.topic ?? '',
    s.lastSeen ? `${age(s.lastSeen, now)} ago` : '-',
  ]);
  lines.push(...section('Sensors', ['NAME', 'TOPIC', 'LAST SEEN'], sensors));
  const rows = (status.functions ?? []).map((f) => [
    functionKey(f),
    f.revision,
    phaseColour(f.phase),
    f.reason ?? '-',
    String(f.invocations),
    String(f.errors),
    f.recentCalls === undefined ? '-' : `${f.recentErrors ?? 0}/${f.recentCalls}`,
    f.latencyP99Us === undefined ? '-' : `${f.latencyP99Us}`,
    f.lastError ?? '',
  ]);
  lines.push(
    ...section(
      'Functions',
      ['FUNCTION', 'REVISION', 'PHASE', 'REASON', 'CALLS', 'ERRORS', 'RECENT FAILED', 'P99 µs', 'LAST ERROR'],
      rows,
    ),
  );
  return lines;
}

/** Without the device's own status: the failing functions the EdgeNode summary keeps. */
function summaryFunctions(object: Record<string, unknown>, problem: string | undefined): string[] {
  const failing = (readPath(object, '.status.failing') ?? []) as Row[];
  const rows = failing.map((f) => [
    `${text(f.namespace)}/${text(f.name)}`,
    phaseColour(text(f.phase)),
    text(f.reason) || '-',
  ]);
  const note = `Kubernetes keeps only the failing functions${problem ? `: ${problem}` : ''}`;
  return section('Failing functions', ['FUNCTION', 'PHASE', 'REASON'], rows, note);
}

/** The table sections for this kind of object (none for other kinds). */
export function deviceSections(
  object: Record<string, unknown>,
  device: DeviceView = {},
  now = Date.now(),
): string[] {
  const kind = readPath(object, '.kind');
  if (kind === 'WasmFunction') return functionDevices(object);
  if (kind !== 'EdgeNode') return [];
  return device.status ? liveFunctions(device.status, now) : summaryFunctions(object, device.problem);
}
