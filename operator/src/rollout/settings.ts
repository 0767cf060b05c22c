// SPDX-License-Identifier: Apache-2.0
// Adapts the CRD's `spec.rollout` block to the rollout core's settings, applying the CRD defaults
// here as well so a resource written before a default existed behaves like a new one.
import { parseDuration, type Rollout } from '@wasmfleet/api';
import type { CanaryStepPolicy, RolloutPolicy, RolloutSettings } from './types.ts';

const DEFAULT_MAX_UNAVAILABLE = '25%';
const DEFAULT_PROGRESS_DEADLINE_SECONDS = 600;

export function rolloutSettings(rollout: Rollout | undefined): RolloutSettings {
  const spec = rollout ?? {};
  const policy = policyOf(spec);
  return {
    policy,
    ...(spec.waves ? { waves: { labelKey: spec.waves.labelKey, order: spec.waves.order ?? [] } } : {}),
    ...(spec.maxErrorRate !== undefined ? { maxErrorRate: spec.maxErrorRate } : {}),
    progressDeadlineMs: (spec.progressDeadlineSeconds ?? DEFAULT_PROGRESS_DEADLINE_SECONDS) * 1000,
    onFailure: spec.onFailure ?? 'Rollback',
  };
}

function policyOf(spec: Rollout): RolloutPolicy {
  if (spec.strategy === 'Canary') {
    // The CRD rejects Canary without steps; an empty list still means "everything at once".
    return { strategy: 'Canary', steps: (spec.steps ?? []).map(stepOf) };
  }
  return {
    strategy: 'Rolling',
    maxUnavailable: maxUnavailableOf(spec.maxUnavailable ?? DEFAULT_MAX_UNAVAILABLE),
  };
}

function stepOf(step: NonNullable<Rollout['steps']>[number]): CanaryStepPolicy {
  if (step.pause === undefined)
    return { percent: step.percent, ...(step.gate === 'Manual' ? { manual: true } : {}) };
  const pauseMs = parseDuration(step.pause);
  // The CRD validates durations, so this only trips on a resource that bypassed admission.
  if (pauseMs === undefined)
    throw new Error(`rollout.steps[].pause "${step.pause}" is not a duration like 30s, 5m or 1h`);
  return { percent: step.percent, pauseMs, ...(step.gate === 'Manual' ? { manual: true } : {}) };
}

function maxUnavailableOf(value: number | string): { count: number } | { percent: number } {
  if (typeof value === 'number') return { count: Math.max(1, Math.floor(value)) };
  const m = /^(\d+)%$/.exec(value);
  if (!m)
    throw new Error(`rollout.maxUnavailable "${value}" must be a device count or a percentage such as 25%`);
  return { percent: Number(m[1]) };
}
