// SPDX-License-Identifier: Apache-2.0
// Builders for rollout inputs and a tiny "world" that applies decisions, so tests read as stories.
import { decideRollout } from '../../src/rollout/index.ts';
import type {
  CanaryStepPolicy,
  DeviceReport,
  RolloutControls,
  RolloutDecision,
  RolloutInput,
  RolloutSettings,
  TargetDevice,
} from '../../src/rollout/index.ts';

export const T0 = 1_700_000_000_000;
export const OLD = 'rev-old';
export const NEW = 'rev-new';
export const KEY = 'plant-1/temp-alert';

export const NO_CONTROLS: RolloutControls = { paused: false, promote: false, abort: false };

export function canary(
  steps: readonly CanaryStepPolicy[],
  extra: Partial<RolloutSettings> = {},
): RolloutSettings {
  return {
    policy: { strategy: 'Canary', steps },
    progressDeadlineMs: 600_000,
    onFailure: 'Rollback',
    ...extra,
  };
}

export function rolling(
  maxUnavailable: { count: number } | { percent: number },
  extra: Partial<RolloutSettings> = {},
): RolloutSettings {
  return {
    policy: { strategy: 'Rolling', maxUnavailable },
    progressDeadlineMs: 600_000,
    onFailure: 'Rollback',
    ...extra,
  };
}

export function running(revision: string, invocations = 0, errors = 0): DeviceReport {
  return { revision, phase: 'Running', invocations, errors };
}

export function failed(revision: string, reason = 'Trap', phase = 'Failed'): DeviceReport {
  return { revision, phase, invocations: 0, errors: 0, reason };
}

/** A device that runs the stable revision, as before any rollout. */
export function device(name: string, extra: Partial<TargetDevice> = {}): TargetDevice {
  return { name, labels: {}, online: true, assigned: OLD, report: running(OLD), ...extra };
}

export function fleet(n: number, extra: Partial<TargetDevice> = {}): TargetDevice[] {
  return Array.from({ length: n }, (_, i) => device(`dev-${String(i).padStart(3, '0')}`, extra));
}

export function input(
  settings: RolloutSettings,
  targets: readonly TargetDevice[],
  extra: Partial<RolloutInput> = {},
): RolloutInput {
  return {
    functionKey: KEY,
    settings,
    currentRevision: OLD,
    updateRevision: NEW,
    targets,
    progress: undefined,
    controls: NO_CONTROLS,
    now: T0,
    ...extra,
  };
}

/** Names assigned `revision`, sorted. */
export function holding(decision: RolloutDecision, revision = NEW): string[] {
  return [...decision.assignments]
    .filter(([, r]) => r === revision)
    .map(([n]) => n)
    .sort();
}

export function reasons(decision: RolloutDecision): string[] {
  return decision.events.map((e) => e.reason);
}

/** Devices take their assignment (their document says it) but have not reported it yet. */
export function told(targets: readonly TargetDevice[], decision: RolloutDecision): TargetDevice[] {
  return targets.map((t) => ({ ...t, assigned: decision.assignments.get(t.name) }));
}

/** Devices take their assignment and report it with `report` (default: Running, no errors). */
export function converge(
  targets: readonly TargetDevice[],
  decision: RolloutDecision,
  report: (device: TargetDevice, revision: string) => DeviceReport | undefined = (_, r) => running(r),
): TargetDevice[] {
  return targets.map((t) => {
    const assigned = decision.assignments.get(t.name);
    if (assigned === undefined) return t;
    const next = { ...t, assigned };
    return t.online ? { ...next, report: report(t, assigned) } : next;
  });
}

/** One reconcile, then the world converges on it: returns the decision and the next input. */
export function step(
  current: RolloutInput,
  advanceMs = 1000,
  report?: (device: TargetDevice, revision: string) => DeviceReport | undefined,
): { decision: RolloutDecision; next: RolloutInput } {
  const decision = decideRollout(current);
  return {
    decision,
    next: {
      ...current,
      targets: converge(current.targets, decision, report),
      progress: decision.progress,
      now: current.now + advanceMs,
    },
  };
}

/** Deterministic shuffle (a fixed LCG), so a failing order can be replayed. */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let s = seed >>> 0;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1_664_525) + 1_013_904_223) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
