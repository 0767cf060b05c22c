// SPDX-License-Identifier: Apache-2.0
// Builds a WasmFunction's status from what the reconciler learned. Pure: the same inputs give
// the same status, so an unchanged world writes nothing.
import type {
  RolloutFailureReason,
  RolloutStatus,
  WasmFunction,
  WasmFunctionConditionType,
  WasmFunctionStatus,
} from '@wasmfleet/api';
import type { Aggregate } from '../fleet/status-aggregate.ts';
import { setCondition, type Condition, type ConditionInput } from '../kube/index.ts';

/** A condition of a WasmFunction: a misspelt type is a compile error. */
type FunctionCondition = Omit<ConditionInput<WasmFunctionConditionType>, 'observedGeneration'>;

export interface StatusParts {
  readonly fn: WasmFunction;
  readonly now: Date;
  readonly module?:
    | { readonly ok: true; readonly sha256: string; readonly size: number }
    | { readonly ok: false; readonly reason: string; readonly message: string };
  readonly config?:
    { readonly ok: true } | { readonly ok: false; readonly reason: string; readonly message: string };
  readonly scheduled?: {
    readonly nodes: number;
    readonly desired: number;
    readonly reason?: string | undefined;
  };
  readonly updateRevision?: string;
  readonly aggregate?: Aggregate;
  readonly terminating?: { readonly message: string };
  readonly rollout?: {
    readonly status: RolloutStatus;
    readonly complete: boolean;
    readonly currentRevision: string | undefined;
    /** The reason of the failure that rolled back or paused, when there was one. */
    readonly failureReason?: RolloutFailureReason | undefined;
  };
}

export function functionStatus(parts: StatusParts): WasmFunctionStatus {
  const { fn, now } = parts;
  const generation = fn.metadata.generation ?? 0;
  const previous = fn.status ?? {};
  let conditions = (previous.conditions ?? []) as Condition[];
  const set = (input: FunctionCondition | undefined): void => {
    if (input === undefined) return;
    conditions = setCondition(conditions, { ...input, observedGeneration: generation }, now);
  };
  // In this order: a later condition of the same type replaces an earlier one.
  set(moduleCondition(parts.module));
  set(configCondition(parts.config));
  set(scheduledCondition(parts.scheduled));
  const outcome = phaseOf(parts, previous.phase);
  for (const condition of outcome.conditions) set(condition);
  set(readyCondition(parts, outcome.phase));

  const status: WasmFunctionStatus = {
    ...previous,
    observedGeneration: generation,
    conditions: conditions,
    phase: outcome.phase,
    module: moduleSummary(fn),
  };
  if (parts.module?.ok) status.moduleDigest = `sha256:${parts.module.sha256}`;
  if (parts.updateRevision) status.updateRevision = parts.updateRevision;
  if (parts.rollout && !parts.terminating) status.rollout = parts.rollout.status;
  if (parts.aggregate) Object.assign(status, countFields(parts, parts.aggregate));
  return status;
}

function moduleCondition(module: StatusParts['module']): FunctionCondition | undefined {
  if (!module) return undefined;
  return module.ok
    ? {
        type: 'ModuleResolved',
        status: 'True',
        reason: 'Resolved',
        message: `sha256:${module.sha256} (${module.size} bytes)`,
      }
    : { type: 'ModuleResolved', status: 'False', reason: module.reason, message: module.message };
}

function configCondition(config: StatusParts['config']): FunctionCondition | undefined {
  if (!config) return undefined;
  return config.ok
    ? {
        type: 'ConfigResolved',
        status: 'True',
        reason: 'Resolved',
        message: 'configuration references resolved',
      }
    : { type: 'ConfigResolved', status: 'False', reason: config.reason, message: config.message };
}

function scheduledCondition(scheduled: StatusParts['scheduled']): FunctionCondition | undefined {
  if (!scheduled) return undefined;
  const { nodes, desired, reason } = scheduled;
  return nodes > 0 && (reason === undefined || nodes >= desired)
    ? {
        type: 'Scheduled',
        status: 'True',
        reason: 'Placed',
        message: `placed on ${nodes} device${nodes === 1 ? '' : 's'}`,
      }
    : {
        type: 'Scheduled',
        status: 'False',
        reason: nodes > 0 ? 'PartiallyPlaced' : 'NoMatchingDevice',
        message: reason ?? 'no device matches the placement',
      };
}

type Phase = WasmFunctionStatus['phase'];

/**
 * The phase, and the Progressing/Degraded conditions that go with it: from the devices'
 * aggregate, then overridden by how the rollout stands (a rollback or a pause says more).
 */
function phaseOf(
  parts: StatusParts,
  previousPhase: Phase,
): { phase: Phase; conditions: FunctionCondition[] } {
  const agg = parts.aggregate;
  const blocked = (parts.module && !parts.module.ok) || (parts.config && !parts.config.ok);
  let phase: Phase = blocked ? 'Failed' : (agg?.phase ?? 'Pending');
  if (parts.terminating) phase = previousPhase ?? 'Progressing';
  const conditions: FunctionCondition[] =
    agg && !blocked ? [progressingCondition(agg, parts.updateRevision), degradedCondition(agg)] : [];
  const rollout = parts.rollout;
  if (!rollout || blocked || parts.terminating) return { phase, conditions };
  const rp = rollout.status.phase;
  if (rp === 'RolledBack' || rp === 'Aborted' || rp === 'Degraded') {
    const reason = rolloutFailureReason(rollout);
    const message = rollout.status.message ?? reason;
    conditions.push({ type: 'Progressing', status: 'False', reason, message });
    // What fails now says more than how the rollout ended; devices held on the stable revision
    // after a rollback fail no more, and then the rollback is the news.
    if (!agg || agg.failedNodes === 0) conditions.push({ type: 'Degraded', status: 'True', reason, message });
    return { phase: 'Degraded', conditions };
  }
  if (rp === 'Paused') {
    conditions.push({
      type: 'Progressing',
      status: 'Unknown',
      reason: 'Paused',
      message: rollout.status.message ?? 'rollout paused',
    });
    return { phase: 'Paused', conditions };
  }
  // Every device is healthy but the rollout still has steps to take.
  if (rp === 'Progressing' && phase === 'Ready') return { phase: 'Progressing', conditions };
  return { phase, conditions };
}

/** The device counts, and the revision every device runs once a rollout completed. */
function countFields(parts: StatusParts, agg: Aggregate): Partial<WasmFunctionStatus> {
  const fields: Partial<WasmFunctionStatus> = {
    desiredNodes: agg.desiredNodes,
    updatedNodes: agg.updatedNodes,
    readyNodes: agg.readyNodes,
    failedNodes: agg.failedNodes,
    ready: `${agg.readyNodes}/${agg.desiredNodes}`,
    nodes: agg.nodes,
    nodesOmitted: agg.nodesOmitted,
  };
  const rollout = parts.rollout;
  if (rollout) {
    if (rollout.complete && parts.updateRevision) fields.currentRevision = parts.updateRevision;
    else if (rollout.currentRevision) fields.currentRevision = rollout.currentRevision;
  } else if (agg.desiredNodes > 0 && agg.updatedNodes === agg.desiredNodes && parts.updateRevision) {
    fields.currentRevision = parts.updateRevision;
  }
  return fields;
}

/** A short form of the module source for the MODULE printer column. */
export function moduleSummary(fn: WasmFunction): string {
  const m = fn.spec.module;
  const text = m.url
    ? (m.url.split('/').pop() ?? m.url)
    : m.oci
      ? m.oci
      : m.configMap
        ? `configmap:${m.configMap.name}/${m.configMap.key}`
        : '';
  return text.slice(0, 256);
}

/** True while some device does not report the update revision yet, or is neither ready nor failing. */
function progressingCondition(agg: Aggregate, updateRevision: string | undefined): FunctionCondition {
  const settled = agg.readyNodes + agg.failedNodes;
  const runs = `${agg.updatedNodes} of ${agg.desiredNodes} devices run revision ${updateRevision ?? '?'}`;
  if (agg.updatedNodes < agg.desiredNodes || settled < agg.desiredNodes)
    return {
      type: 'Progressing',
      status: 'True',
      reason: 'Updating',
      message: `${runs}, ${agg.readyNodes} ready`,
    };
  return {
    type: 'Progressing',
    status: 'False',
    reason: agg.desiredNodes === 0 ? 'NoDevices' : 'Complete',
    message: agg.failedNodes > 0 ? `${runs}, ${agg.failedNodes} failing` : runs,
  };
}

/** CallsFailing when every failing device still runs the function; InstancesFailed otherwise. */
function failingReason(agg: Aggregate): 'CallsFailing' | 'InstancesFailed' {
  return agg.callsFailingNodes === agg.failedNodes ? 'CallsFailing' : 'InstancesFailed';
}

function degradedCondition(agg: Aggregate): FunctionCondition {
  if (agg.failedNodes === 0)
    return { type: 'Degraded', status: 'False', reason: 'Healthy', message: 'no device reports a failure' };
  return {
    type: 'Degraded',
    status: 'True',
    reason: failingReason(agg),
    message: agg.failureSummary ?? `${agg.failedNodes} devices fail`,
  };
}

/**
 * Why a rollout ended badly: Aborted, RolledBack, ProgressDeadlineExceeded, or — for a first
 * deployment, which has nothing to roll back to — DeploymentFailed.
 */
function rolloutFailureReason(rollout: NonNullable<StatusParts['rollout']>): RolloutFailureReason {
  const rp = rollout.status.phase;
  if (rp === 'Aborted') return 'Aborted';
  return rollout.failureReason ?? (rp === 'RolledBack' ? 'RolledBack' : 'DeploymentFailed');
}

/** Ready, with a reason and message that say the same thing as the phase and the counts. */
function readyCondition(parts: StatusParts, phase: WasmFunctionStatus['phase']): FunctionCondition {
  const notReady = (reason: string, message: string): FunctionCondition => ({
    type: 'Ready',
    status: 'False',
    reason,
    message,
  });
  if (parts.terminating) return notReady('Terminating', parts.terminating.message);
  if (parts.module && !parts.module.ok) return notReady(parts.module.reason, parts.module.message);
  if (parts.config && !parts.config.ok) return notReady(parts.config.reason, parts.config.message);
  const agg = parts.aggregate;
  if (!agg) return notReady('NotAllDevicesReady', 'waiting for devices');
  const of = `${agg.readyNodes}/${agg.desiredNodes}`;
  if (phase === 'Ready')
    return {
      type: 'Ready',
      status: 'True',
      reason: 'AllDevicesReady',
      message: `${of} devices run the function`,
    };
  // The failure reasons go into the message, so the phase-change Event says why (a refused
  // signature reads "SignatureInvalid on 1 device").
  if (agg.failedNodes > 0)
    return notReady(failingReason(agg), `${of} devices ready; ${agg.failureSummary ?? 'some fail'}`);
  const rollout = parts.rollout;
  const rp = rollout?.status.phase;
  if (rollout && (rp === 'RolledBack' || rp === 'Aborted')) {
    const previous = rollout.currentRevision ?? 'the previous revision';
    return notReady(
      rolloutFailureReason(rollout),
      `${of} devices run the previous revision ${previous}; ${parts.updateRevision ?? 'the update'} is not rolled out: ${rollout.status.message ?? rp}`,
    );
  }
  if (rollout && rp === 'Degraded')
    return notReady(rolloutFailureReason(rollout), `${of} devices run it; ${rollout.status.message ?? rp}`);
  if (rollout && rp === 'Paused') return notReady('Paused', rollout.status.message ?? 'rollout paused');
  const updatedReady = agg.updatedReadyNodes;
  if (updatedReady === agg.desiredNodes && agg.desiredNodes > 0)
    return notReady(
      'RolloutInProgress',
      `every device runs the update; ${rollout?.status.message ?? 'more steps follow'}`,
    );
  return notReady(
    'NotAllDevicesReady',
    `${updatedReady}/${agg.desiredNodes} devices ready on revision ${parts.updateRevision ?? '?'}`,
  );
}

/**
 * Whether `next` differs from `previous` in what must reach the API server at once: the phase,
 * a condition's status or reason, the revisions, or the rollout's progress (which must be
 * persisted before devices are told anything). Counts, device rows and messages are not: the
 * throttle writes them at most once per interval (ADR 0023).
 */
export function significantChange(
  previous: WasmFunctionStatus | undefined,
  next: WasmFunctionStatus,
): boolean {
  const essence = (s: WasmFunctionStatus | undefined) => {
    const { message: _m, percent: _p, errorRate: _e, ...rollout } = s?.rollout ?? {};
    return JSON.stringify([
      s?.phase,
      s?.observedGeneration,
      s?.currentRevision,
      s?.updateRevision,
      s?.moduleDigest,
      s?.module,
      (s?.conditions ?? []).map((c) => [c.type, c.status, c.reason]),
      Object.entries(rollout).sort(([a], [b]) => (a < b ? -1 : 1)),
    ]);
  };
  return essence(previous) !== essence(next);
}
