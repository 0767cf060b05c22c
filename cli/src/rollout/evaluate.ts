// SPDX-License-Identifier: Apache-2.0
// Decides, from a WasmFunction alone, whether its rollout is complete, still going, or failed —
// the same questions `kubectl rollout status` asks of a Deployment. Pure: no I/O, no clock.
import { functionCondition, type RolloutFailureReason } from '@wasmfleet/api';
import type { FunctionObject } from '../functions/read.ts';

export type RolloutState = 'Observing' | 'Progressing' | 'Paused' | 'WaitingForGate' | 'Complete' | 'Failed';

export interface RolloutVerdict {
  readonly state: RolloutState;
  /** The rollout is over, successfully. */
  readonly done: boolean;
  readonly failed: boolean;
  /** One sentence, kubectl-style. */
  readonly message: string;
}

export interface Counts {
  readonly desired: number;
  readonly updated: number;
  readonly ready: number;
  readonly failed: number;
}

export function counts(fn: FunctionObject): Counts {
  const s = fn.status ?? {};
  return {
    desired: s.desiredNodes ?? 0,
    updated: s.updatedNodes ?? 0,
    ready: s.readyNodes ?? 0,
    failed: s.failedNodes ?? 0,
  };
}

/** The Progressing reasons that fail `rollout status` outright (the others show as phase Degraded). */
const FAILED_REASONS = new Set<string>([
  'ProgressDeadlineExceeded',
  'RolledBack',
] satisfies RolloutFailureReason[]);

/** Why the rollout failed, or undefined when it has not. */
export function failure(fn: FunctionObject): string | undefined {
  const status = fn.status ?? {};
  const generation = fn.metadata.generation ?? 0;
  const progressing = functionCondition(status, 'Progressing');
  const fresh = progressing && (progressing.observedGeneration ?? generation) >= generation;
  if (fresh && progressing.status === 'False' && FAILED_REASONS.has(progressing.reason)) {
    const what = progressing.reason === 'RolledBack' ? 'it was rolled back' : 'its progress deadline passed';
    return `${what}${progressing.message ? `: ${progressing.message}` : ''}`;
  }
  const rolloutMessage = status.rollout?.message;
  if (rolloutMessage && /rolled back|rolling back|rollback/i.test(rolloutMessage)) return rolloutMessage;
  if (status.phase === 'Degraded' || status.phase === 'Failed') {
    const degraded = functionCondition(status, 'Degraded');
    const ready = functionCondition(status, 'Ready');
    const detail =
      (degraded?.status === 'True' ? degraded.message : undefined) ||
      (ready?.status === 'False' ? ready.message : undefined) ||
      rolloutMessage;
    return `phase is ${status.phase}${detail ? `: ${detail}` : ''}`;
  }
  return undefined;
}

export function evaluateRollout(fn: FunctionObject): RolloutVerdict {
  const name = fn.metadata.name;
  const status = fn.status ?? {};
  const generation = fn.metadata.generation ?? 0;
  if ((status.observedGeneration ?? 0) < generation) {
    return {
      state: 'Observing',
      done: false,
      failed: false,
      message: `Waiting for rollout spec update of "${name}" to be observed (generation ${generation}, observed ${status.observedGeneration ?? 'none'})...`,
    };
  }
  const why = failure(fn);
  if (why !== undefined) {
    return { state: 'Failed', done: false, failed: true, message: `rollout of "${name}" failed: ${why}` };
  }
  const c = counts(fn);
  if (status.phase === 'Ready' && c.updated === c.desired && c.ready === c.desired) {
    return {
      state: 'Complete',
      done: true,
      failed: false,
      message: `wasmfunction "${name}" successfully rolled out (${c.ready}/${c.desired} devices ready)`,
    };
  }
  if (status.rollout?.waitingForGate) {
    return {
      state: 'WaitingForGate',
      done: false,
      failed: false,
      message: `Waiting for rollout "${name}": step ${(status.rollout.step ?? 0) + 1} is at a manual gate; run \`wasmfleet rollout resume ${name}\` to continue or \`wasmfleet rollout abort ${name}\` to stop`,
    };
  }
  if (fn.spec.paused || status.phase === 'Paused') {
    return {
      state: 'Paused',
      done: false,
      failed: false,
      message: `Waiting for rollout "${name}": paused; run \`wasmfleet rollout resume ${name}\` to continue`,
    };
  }
  const progress =
    c.updated < c.desired
      ? `${c.updated} of ${c.desired} devices updated`
      : `${c.ready} of ${c.updated} updated devices ready`;
  return {
    state: 'Progressing',
    done: false,
    failed: false,
    message: `Waiting for rollout "${name}" to finish: ${progress}...`,
  };
}
