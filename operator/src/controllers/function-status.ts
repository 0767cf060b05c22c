// SPDX-License-Identifier: Apache-2.0
// Builds a WasmFunction's status from what the reconciler learned. Pure: the same inputs give
// the same status, so an unchanged world writes nothing.
import type {
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
    readonly failureReason?: string | undefined;
  };
}

export function functionStatus(parts: StatusParts): WasmFunctionStatus {
  const { fn, now } = parts;
  const generation = fn.metadata.generation ?? 0;
  const previous = fn.status ?? {};
  let conditions = (previous.conditions ?? []) as Condition[];
  const set = (input: FunctionCondition): void => {
    conditions = setCondition(conditions, { ...input, observedGeneration: generation }, now);
  };

  if (parts.module) {
    set(
      parts.module.ok
        ? {
            type: 'ModuleResolved',
            status: 'True',
            reason: 'Resolved',
            message: `sha256:${parts.module.sha256} (${parts.module.size} bytes)`,
          }
        : {
            type: 'ModuleResolved',
            status: 'False',
            reason: parts.module.reason,
            message: parts.module.message,
          },
    );
  }
  if (parts.config) {
    set(
      parts.config.ok
        ? {
            type: 'ConfigResolved',
            status: 'True',
            reason: 'Resolved',
            message: 'configuration references resolved',
          }
        : {
            type: 'ConfigResolved',
            status: 'False',
            reason: parts.config.reason,
            message: parts.config.message,
          },
    );
  }
  if (parts.scheduled) {
    const { nodes, desired, reason } = parts.scheduled;
    set(
      nodes > 0 && (reason === undefined || nodes >= desired)
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
          },
    );
  }

  const agg = parts.aggregate;
  const blocked = (parts.module && !parts.module.ok) || (parts.config && !parts.config.ok);
  let phase: WasmFunctionStatus['phase'] = blocked ? 'Failed' : (agg?.phase ?? 'Pending');
  if (parts.terminating) phase = previous.phase ?? 'Progressing';

  if (agg && !blocked) {
    const progressing = agg.updatedNodes < agg.desiredNodes || agg.readyNodes < agg.desiredNodes;
    set(
      progressing
        ? {
            type: 'Progressing',
            status: 'True',
            reason: 'Updating',
            message: `${agg.updatedNodes} of ${agg.desiredNodes} devices run revision ${parts.updateRevision ?? '?'}, ${agg.readyNodes} ready`,
          }
        : {
            type: 'Progressing',
            status: 'False',
            reason: agg.desiredNodes === 0 ? 'NoDevices' : 'Complete',
            message: `${agg.readyNodes} of ${agg.desiredNodes} devices ready`,
          },
    );
    set(
      agg.failedNodes > 0
        ? {
            type: 'Degraded',
            status: 'True',
            reason: 'InstancesFailed',
            message: agg.failureSummary ?? `${agg.failedNodes} devices failed`,
          }
        : { type: 'Degraded', status: 'False', reason: 'Healthy', message: 'no device reports a failure' },
    );
  }
  const rollout = parts.rollout;
  if (rollout && !blocked && !parts.terminating) {
    const rp = rollout.status.phase;
    if (rp === 'RolledBack' || rp === 'Aborted' || rp === 'Degraded') {
      phase = 'Degraded';
      const reason = rp === 'Aborted' ? 'Aborted' : (rollout.failureReason ?? 'RolledBack');
      set({ type: 'Progressing', status: 'False', reason, message: rollout.status.message ?? reason });
      set({ type: 'Degraded', status: 'True', reason, message: rollout.status.message ?? reason });
    } else if (rp === 'Paused') {
      phase = 'Paused';
      set({
        type: 'Progressing',
        status: 'Unknown',
        reason: 'Paused',
        message: rollout.status.message ?? 'rollout paused',
      });
    } else if (rp === 'Progressing' && phase === 'Ready') {
      // Every device is healthy but the rollout still has steps to take.
      phase = 'Progressing';
    }
  }
  const readyCondition: FunctionCondition = parts.terminating
    ? { type: 'Ready', status: 'False', reason: 'Terminating', message: parts.terminating.message }
    : parts.module && !parts.module.ok
      ? { type: 'Ready', status: 'False', reason: parts.module.reason, message: parts.module.message }
      : parts.config && !parts.config.ok
        ? { type: 'Ready', status: 'False', reason: parts.config.reason, message: parts.config.message }
        : agg && phase === 'Ready'
          ? {
              type: 'Ready',
              status: 'True',
              reason: 'AllDevicesReady',
              message: `${agg.readyNodes}/${agg.desiredNodes} devices run the function`,
            }
          : {
              type: 'Ready',
              status: 'False',
              reason: phase === 'Degraded' ? 'InstancesFailed' : 'NotAllDevicesReady',
              // The failure reasons go into the message, so the phase-change Event says why
              // (a refused signature reads "SignatureInvalid on 1 device").
              message: agg
                ? `${agg.readyNodes}/${agg.desiredNodes} devices ready${phase === 'Degraded' && agg.failureSummary ? `; ${agg.failureSummary}` : ''}`
                : 'waiting for devices',
            };
  set(readyCondition);

  const status: WasmFunctionStatus = {
    ...previous,
    observedGeneration: generation,
    conditions: conditions,
    phase,
    module: moduleSummary(fn),
  };
  if (parts.module?.ok) status.moduleDigest = `sha256:${parts.module.sha256}`;
  if (parts.updateRevision) status.updateRevision = parts.updateRevision;
  if (rollout && !parts.terminating) status.rollout = rollout.status;
  if (agg) {
    status.desiredNodes = agg.desiredNodes;
    status.updatedNodes = agg.updatedNodes;
    status.readyNodes = agg.readyNodes;
    status.failedNodes = agg.failedNodes;
    status.ready = `${agg.readyNodes}/${agg.desiredNodes}`;
    status.nodes = agg.nodes;
    status.nodesOmitted = agg.nodesOmitted;
    if (rollout) {
      if (rollout.complete && parts.updateRevision) status.currentRevision = parts.updateRevision;
      else if (rollout.currentRevision) status.currentRevision = rollout.currentRevision;
    } else if (agg.desiredNodes > 0 && agg.updatedNodes === agg.desiredNodes && parts.updateRevision) {
      status.currentRevision = parts.updateRevision;
    }
  }
  return status;
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
