// SPDX-License-Identifier: Apache-2.0
// The steps a rollout walks through, with how many devices each one targets — what the
// progress bars show. Pure.
import type { FunctionObject } from '../functions/read.ts';
import { counts } from './evaluate.ts';

export interface StepProgress {
  /** 1-based, as users count. */
  readonly number: number;
  readonly percent: number;
  /** Devices this step brings to the update revision (cumulative). */
  readonly target: number;
  /** Updated devices that count towards this step (≤ target). */
  readonly updated: number;
  readonly done: boolean;
  readonly current: boolean;
  /** `pause 60s`, `manual gate`, or undefined. */
  readonly wait?: string;
}

export function stepPlan(fn: FunctionObject): StepProgress[] {
  const rollout = fn.spec.rollout;
  const c = counts(fn);
  const canary = rollout?.strategy === 'Canary' ? (rollout.steps ?? []) : [];
  const plan: { percent: number; wait?: string }[] = canary.map((s) => ({
    percent: s.percent,
    ...(s.gate ? { wait: 'manual gate' } : s.pause ? { wait: `pause ${s.pause}` } : {}),
  }));
  // After the last canary step every device is updated: show that as a final step.
  if (plan.length === 0 || (plan.at(-1)?.percent ?? 0) < 100) plan.push({ percent: 100 });
  const complete = c.updated >= c.desired && fn.status?.phase === 'Ready';
  const currentIndex = complete ? -1 : Math.min(fn.status?.rollout?.step ?? 0, plan.length - 1);
  return plan.map((step, i) => {
    const target = Math.ceil((step.percent * c.desired) / 100);
    const updated = Math.min(c.updated, target);
    return {
      number: i + 1,
      percent: step.percent,
      target,
      updated,
      done: complete || i < currentIndex || (i === currentIndex && updated >= target && target > 0),
      current: i === currentIndex,
      ...(step.wait ? { wait: step.wait } : {}),
    };
  });
}

/** Devices per phase from status.nodes, most important first. */
export function devicesByPhase(fn: FunctionObject): Map<string, string[]> {
  const order = ['Failed', 'Pending', 'Fetching', 'Starting', 'Running', 'Stopped'];
  const groups = new Map<string, string[]>();
  for (const n of fn.status?.nodes ?? []) {
    const list = groups.get(n.phase) ?? [];
    list.push(n.node);
    groups.set(n.phase, list);
  }
  return new Map([...groups].sort(([a], [b]) => rank(order, a) - rank(order, b) || a.localeCompare(b)));
}

function rank(order: readonly string[], phase: string): number {
  const i = order.indexOf(phase);
  return i === -1 ? order.length : i;
}
