// SPDX-License-Identifier: Apache-2.0
// What `wasmfleet rollout status` prints: a kubectl-like summary with a bar per step and devices
// by phase (a terminal redraws it), one line per change (CI logs), or a report for -o json|yaml.
// Pure: it formats what it is given.
import { stringify } from 'yaml';
import type { FunctionObject } from '../functions/read.ts';
import { counts, type RolloutVerdict } from '../rollout/evaluate.ts';
import { devicesByPhase, stepPlan, type StepProgress } from '../rollout/steps.ts';
import { age } from './age.ts';
import { ASCII_BAR, UNICODE_BAR, bar, type BarChars } from './bar.ts';
import { phaseColour, style } from './style.ts';

const BAR_WIDTH = 30;
const MAX_NAMES = 8;

export interface RolloutReport {
  readonly namespace: string;
  readonly name: string;
  readonly generation: number;
  readonly observedGeneration: number | undefined;
  readonly phase: string | undefined;
  readonly paused: boolean;
  readonly state: RolloutVerdict['state'];
  readonly done: boolean;
  readonly failed: boolean;
  readonly message: string;
  readonly updateRevision: string | undefined;
  readonly currentRevision: string | undefined;
  readonly rollout: NonNullable<FunctionObject['status']>['rollout'];
  readonly counts: ReturnType<typeof counts>;
  readonly steps: readonly StepProgress[];
  readonly devicesByPhase: Readonly<Record<string, readonly string[]>>;
  readonly conditions: NonNullable<FunctionObject['status']>['conditions'];
  readonly nodes: NonNullable<FunctionObject['status']>['nodes'];
}

export function rolloutReport(fn: FunctionObject, verdict: RolloutVerdict): RolloutReport {
  const s = fn.status ?? {};
  return {
    namespace: fn.metadata.namespace,
    name: fn.metadata.name,
    generation: fn.metadata.generation ?? 0,
    observedGeneration: s.observedGeneration,
    phase: s.phase,
    paused: fn.spec.paused ?? false,
    state: verdict.state,
    done: verdict.done,
    failed: verdict.failed,
    message: verdict.message,
    updateRevision: s.updateRevision,
    currentRevision: s.currentRevision,
    rollout: s.rollout,
    counts: counts(fn),
    steps: stepPlan(fn),
    devicesByPhase: Object.fromEntries(devicesByPhase(fn)),
    conditions: s.conditions ?? [],
    nodes: s.nodes ?? [],
  };
}

export function renderReport(report: RolloutReport, format: 'json' | 'yaml', compact = false): string {
  if (format === 'yaml') return stringify(report);
  return `${compact ? JSON.stringify(report) : JSON.stringify(report, null, 2)}\n`;
}

/** The full, multi-line summary (the terminal view and the one-shot output). */
export function renderSummary(
  fn: FunctionObject,
  verdict: RolloutVerdict,
  options: { now?: number; chars?: BarChars } = {},
): string {
  const now = options.now ?? Date.now();
  const chars = options.chars ?? UNICODE_BAR;
  const s = fn.status ?? {};
  const c = counts(fn);
  const lines: string[] = [];
  const field = (key: string, value: string) => lines.push(`${style.bold(`${key}:`.padEnd(12))}${value}`);
  field(
    'Function',
    `${fn.metadata.namespace}/${fn.metadata.name} (generation ${fn.metadata.generation ?? 0}, observed ${s.observedGeneration ?? 'none'})`,
  );
  field('Phase', `${phaseColour(s.phase ?? 'Unknown')}${fn.spec.paused ? ` (${style.warn('paused')})` : ''}`);
  field(
    'Revisions',
    `update ${s.updateRevision ?? '<none>'}, current ${s.currentRevision ?? '<none>'}${s.updateRevision && s.updateRevision === s.currentRevision ? ' (same)' : ''}`,
  );
  const strategy = fn.spec.rollout?.strategy ?? 'Rolling';
  const r = s.rollout;
  const where = rolloutPosition(r, now);
  field('Strategy', `${strategy}${where.length > 0 ? `, ${where.join(', ')}` : ''}`);
  if (r?.message) field('Message', r.message);
  field(
    'Devices',
    `${c.desired} desired, ${c.updated} updated, ${c.ready} ready, ${c.failed > 0 ? style.bad(`${c.failed} failed`) : '0 failed'}`,
  );
  lines.push(style.bold('Steps:'));
  for (const step of stepPlan(fn)) lines.push(`  ${stepLine(step, chars)}`);
  lines.push(...phaseLines(fn));
  const conditions = s.conditions ?? [];
  if (conditions.length > 0) {
    lines.push(style.bold('Conditions:'));
    for (const cond of conditions) {
      lines.push(
        `  ${cond.type.padEnd(15)}${padColoured(cond.status, 8, phaseColour)}${cond.reason.padEnd(26)}${cond.message}`,
      );
    }
  }
  lines.push(verdictLine(verdict));
  return `${lines.join('\n')}\n`;
}

/** Where the rollout stands: its step, percentage, wave, age, error rate and gate. */
function rolloutPosition(r: NonNullable<FunctionObject['status']>['rollout'], now: number): string[] {
  return [
    r?.step !== undefined ? `step ${r.step + 1}` : undefined,
    r?.percent !== undefined ? `at ${r.percent}%` : undefined,
    r?.wave ? `wave ${r.wave}` : undefined,
    r?.stepStartedAt ? `started ${age(r.stepStartedAt, now)} ago` : undefined,
    r?.errorRate !== undefined ? `error rate ${formatRate(r.errorRate)}` : undefined,
    r?.waitingForGate ? style.warn('waiting at a manual gate') : undefined,
  ].filter((x) => x !== undefined);
}

/** The devices by phase (names cut after MAX_NAMES), and the first failures with their messages. */
function phaseLines(fn: FunctionObject): string[] {
  const s = fn.status ?? {};
  const lines = [style.bold('By phase:')];
  const groups = devicesByPhase(fn);
  if (groups.size === 0) lines.push('  <no device reports yet>');
  for (const [phase, nodes] of groups) {
    const shown = nodes.slice(0, MAX_NAMES).join(', ');
    const more = nodes.length > MAX_NAMES ? ` and ${nodes.length - MAX_NAMES} more` : '';
    lines.push(
      `  ${padColoured(phase, 10, phaseColour)}${String(nodes.length).padStart(4)}  ${shown}${more}`,
    );
  }
  for (const failed of (s.nodes ?? []).filter((n) => n.phase === 'Failed' && n.message).slice(0, 5)) {
    lines.push(`  ${style.bad('!')} ${failed.node}: ${failed.message ?? ''}`);
  }
  if (s.nodesOmitted) lines.push(`  (${s.nodesOmitted} more devices not listed in status)`);
  return lines;
}

/** One line for logs: printed again only when it changes. */
export function renderLine(fn: FunctionObject, verdict: RolloutVerdict): string {
  if (verdict.state === 'Complete' || verdict.state === 'Failed' || verdict.state === 'Observing')
    return verdict.message;
  const steps = stepPlan(fn);
  const current = steps.find((s) => s.current) ?? steps.at(-1);
  const c = counts(fn);
  const phases = [...devicesByPhase(fn)].map(([phase, nodes]) => `${phase} ${nodes.length}`).join(', ');
  const step = current
    ? `step ${current.number}/${steps.length} (${current.percent}%) ${bar(current.updated, current.target, 20, ASCII_BAR, current.done)} `
    : '';
  const state = verdict.state === 'Progressing' ? '' : ` [${verdict.state}]`;
  return `${step}${c.updated}/${c.desired} updated, ${c.ready} ready, ${c.failed} failed${phases ? ` (${phases})` : ''}${state}`;
}

function stepLine(step: StepProgress, chars: BarChars): string {
  const mark = step.current ? style.warn('▶') : step.done ? style.ok('✓') : ' ';
  const label = `${mark} ${String(step.number).padStart(2)}  ${`${step.percent}%`.padStart(4)}`;
  const wait = step.wait ? `  (${step.wait})` : '';
  return `${label}  ${bar(step.updated, step.target, BAR_WIDTH, chars, step.done)}  ${step.updated}/${step.target}${wait}`;
}

function verdictLine(verdict: RolloutVerdict): string {
  if (verdict.done) return style.ok(verdict.message);
  if (verdict.failed) return style.bad(verdict.message);
  return verdict.message;
}

/** Pads before colouring, so escape codes do not count towards the width. */
function padColoured(text: string, width: number, colour: (t: string) => string): string {
  return `${colour(text)}${' '.repeat(Math.max(1, width - text.length))}`;
}

function formatRate(rate: number): string {
  return `${(rate * 100).toFixed(rate < 0.01 ? 2 : 1)}%`;
}
