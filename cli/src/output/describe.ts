// SPDX-License-Identifier: Apache-2.0
// kubectl-describe-style text for one object: aligned "Key: value" sections, conditions and
// recent events in tables. Pure: it formats what it is given.
import { stringify } from 'yaml';
import { age, rfc3339 } from './age.ts';
import { deviceSections, TABLED_STATUS_KEYS, type DeviceView } from './describe-devices.ts';
import { readPath } from './json-path.ts';
import { scalar } from './render.ts';
import { phaseColour, style } from './style.ts';

export interface DescribeEvent {
  readonly type?: string;
  readonly reason?: string;
  readonly message?: string;
  readonly count?: number;
  readonly lastTimestamp?: string;
}

export function describeObject(
  object: Record<string, unknown>,
  events: readonly DescribeEvent[],
  now = Date.now(),
  device: DeviceView = {},
): string {
  const lines: string[] = [];
  const field = (key: string, value: unknown): void => {
    lines.push(
      `${style.bold(`${key}:`.padEnd(20))}${value === undefined || value === '' ? '<none>' : scalar(value)}`,
    );
  };
  field('Name', readPath(object, '.metadata.name'));
  const namespace = readPath(object, '.metadata.namespace');
  if (namespace !== undefined) field('Namespace', namespace);
  const labels = (readPath(object, '.metadata.labels') ?? {}) as Record<string, string>;
  field(
    'Labels',
    Object.entries(labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(', '),
  );
  const created = rfc3339(readPath(object, '.metadata.creationTimestamp'));
  field('Created', created === undefined ? undefined : `${created} (${age(created, now)} ago)`);
  const phase = readPath(object, '.status.phase');
  if (typeof phase === 'string') field('Phase', phaseColour(phase));
  for (const section of ['spec', 'status'] as const) {
    const value = readPath(object, `.${section}`) as Record<string, unknown> | undefined;
    if (!value) continue;
    const { conditions: _conditions, ...rest } = value;
    const shown = Object.fromEntries(
      Object.entries(rest).filter(([key]) => section === 'spec' || !TABLED_STATUS_KEYS.has(key)),
    );
    lines.push(style.bold(`${section === 'spec' ? 'Spec' : 'Status'}:`));
    lines.push(indent(stringify(shown).trimEnd()));
  }
  lines.push(...deviceSections(object, device, now));
  lines.push(...conditionLines(readPath(object, '.status.conditions') ?? []));
  lines.push(...eventLines(events, now));
  return `${lines.join('\n')}\n`;
}

/** The object's status conditions as a table. */
function conditionLines(value: unknown): string[] {
  const conditions = value as Partial<Record<string, string>>[];
  const lines = [style.bold('Conditions:')];
  if (!Array.isArray(conditions) || conditions.length === 0) lines.push('  <none>');
  else {
    lines.push(`  ${'TYPE'.padEnd(16)}${'STATUS'.padEnd(8)}${'REASON'.padEnd(24)}MESSAGE`);
    for (const c of conditions) {
      lines.push(
        `  ${(c.type ?? '').padEnd(16)}${phaseColour(c.status ?? '').padEnd(8)}${(c.reason ?? '').padEnd(24)}${c.message ?? ''}`,
      );
    }
  }
  return lines;
}

/** Recent events as a table, repeats counted. */
function eventLines(events: readonly DescribeEvent[], now: number): string[] {
  const lines = [style.bold('Events:')];
  if (events.length === 0) lines.push('  <none>');
  else {
    lines.push(`  ${'TYPE'.padEnd(9)}${'REASON'.padEnd(22)}${'AGE'.padEnd(7)}MESSAGE`);
    for (const e of events) {
      const count = e.count && e.count > 1 ? ` (x${e.count})` : '';
      lines.push(
        `  ${(e.type ?? '').padEnd(9)}${(e.reason ?? '').padEnd(22)}${age(e.lastTimestamp, now).padEnd(7)}${e.message ?? ''}${count}`,
      );
    }
  }
  return lines;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}
