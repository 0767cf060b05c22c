// SPDX-License-Identifier: Apache-2.0
// Turns the pure rollout decision (operator/src/rollout) into what the reconciler needs: which
// wire document each targeted device gets, the status.rollout to persist, and Events. The
// manual controls come from the WasmFunction: spec.paused and the annotations `wasmfleet rollout`
// writes (each names the revision it applies to, so a stale one never acts on a newer rollout).
import type { DesiredFunction, FunctionStatusReport, RolloutStatus, WasmFunction } from '@wasmfleet/api';
import {
  decideRollout,
  rolloutSettings,
  type RolloutControls,
  type RolloutDecision,
  type RolloutProgress,
  type TargetDevice,
} from '../rollout/index.ts';
import { deviceOnline, functionIdOf, reportOf, type FleetContext } from './fleet-context.ts';
import type { StoredRevision } from './revision-history.ts';

export const ANNOTATION = {
  promote: 'rollout.wasmfleet.io/promote',
  gatePassed: 'rollout.wasmfleet.io/gate-passed',
  abort: 'rollout.wasmfleet.io/abort',
  restartedAt: 'rollout.wasmfleet.io/restartedAt',
} as const;

export function rolloutControls(fn: WasmFunction, updateRevision: string): RolloutControls {
  const a = fn.metadata.annotations ?? {};
  const gate = a[ANNOTATION.gatePassed]?.split('/');
  const gateStep = gate?.[0] === updateRevision ? Number(gate[1]) : Number.NaN;
  return {
    paused: fn.spec.paused ?? false,
    promote: a[ANNOTATION.promote] === updateRevision,
    abort: a[ANNOTATION.abort] === updateRevision,
    ...(Number.isInteger(gateStep) ? { gatePassedStep: gateStep } : {}),
  };
}

export function progressFromStatus(rollout: RolloutStatus | undefined): RolloutProgress | undefined {
  if (!rollout?.revision) return undefined;
  const at = (t: string | undefined) => (t ? Date.parse(t) : undefined);
  return {
    revision: rollout.revision,
    step: rollout.step ?? 0,
    stepStartedAt: at(rollout.stepStartedAt) ?? 0,
    ...(rollout.stepHealthyAt ? { stepHealthyAt: at(rollout.stepHealthyAt) } : {}),
    ...(rollout.failedRevision ? { failedRevision: rollout.failedRevision } : {}),
    ...(rollout.phase === 'Paused' ? { paused: true } : {}),
  };
}

export function statusFromDecision(decision: RolloutDecision, waitingForGate: boolean): RolloutStatus {
  const iso = (ms: number | undefined) =>
    ms === undefined ? undefined : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const p = decision.progress;
  return {
    revision: p.revision,
    phase: decision.phase,
    step: p.step,
    percent: decision.percent,
    ...(iso(p.stepStartedAt) ? { stepStartedAt: iso(p.stepStartedAt) } : {}),
    ...(iso(p.stepHealthyAt) ? { stepHealthyAt: iso(p.stepHealthyAt) } : {}),
    ...(p.failedRevision ? { failedRevision: p.failedRevision } : {}),
    waitingForGate,
    ...(decision.errorRate !== undefined ? { errorRate: Math.min(1, Math.max(0, decision.errorRate)) } : {}),
    message: decision.message.slice(0, 1024),
  };
}

export interface PlannedRollout {
  readonly decision: RolloutDecision;
  readonly perNode: Map<string, DesiredFunction>;
  readonly rollout: RolloutStatus;
}

/**
 * One target device as a reconcile reads it, once: the rollout decision's input and the status
 * aggregate's view (status-aggregate.ts NodeView) share it. The report is the device's own
 * object, not a copy: a reconcile reads every target device, and a copy per device per reconcile
 * was most of the garbage of a fleet-wide reconcile (issue 18).
 */
export interface DeviceView extends TargetDevice {
  readonly report: FunctionStatusReport | undefined;
}

/** What the rollout decision reads of each target device: labels, liveness, assignment, report. */
export function deviceViews(ctx: FleetContext, key: string, targets: readonly string[]): DeviceView[] {
  const assigned = ctx.documents.assignmentsOf(key);
  const id = functionIdOf(key);
  return targets.map((name) => ({
    name,
    labels: ctx.nodes.get(undefined, name)?.metadata.labels ?? {},
    online: deviceOnline(ctx, name),
    assigned: assigned.get(name)?.revision,
    report: reportOf(ctx.reports.get(name), id),
  }));
}

export function planRollout(
  ctx: FleetContext,
  fn: WasmFunction,
  key: string,
  update: DesiredFunction,
  current: StoredRevision | undefined,
  devices: readonly TargetDevice[],
): PlannedRollout {
  const decision = decideRollout({
    functionKey: key,
    settings: rolloutSettings(fn.spec.rollout),
    // The stable revision: a rollout's starting point, or — once the update itself is stable —
    // the update (steady state). Undefined only before the first deployment completes.
    currentRevision:
      current?.revision ?? (fn.status?.currentRevision === update.revision ? update.revision : undefined),
    updateRevision: update.revision,
    targets: devices,
    progress: progressFromStatus(fn.status?.rollout),
    controls: rolloutControls(fn, update.revision),
    now: ctx.now(),
  });
  const perNode = new Map<string, DesiredFunction>();
  for (const [node, revision] of decision.assignments) {
    if (revision === update.revision) perNode.set(node, update);
    else if (current && revision === current.revision) perNode.set(node, current.desired);
  }
  const settings = rolloutSettings(fn.spec.rollout);
  const step = decision.progress.step;
  const controls = rolloutControls(fn, update.revision);
  const waitingForGate =
    settings.policy.strategy === 'Canary' &&
    settings.policy.steps[step]?.manual === true &&
    decision.progress.stepHealthyAt !== undefined &&
    decision.phase === 'Progressing' &&
    controls.gatePassedStep !== step &&
    !controls.promote;
  return { decision, perNode, rollout: statusFromDecision(decision, waitingForGate) };
}
