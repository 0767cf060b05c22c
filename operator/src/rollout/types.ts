// SPDX-License-Identifier: Apache-2.0
// The rollout core's contract: a pure function from (policy, devices, what they report, where
// the rollout stands, manual controls, now) to which revision each device should run and where
// the rollout stands next. The reconciler persists `RolloutProgress` in the WasmFunction's status,
// so an operator killed at any point resumes the same step — no step runs twice.
import type { RolloutEventReason } from '@wasmfleet/api';

export interface CanaryStepPolicy {
  readonly percent: number;
  /** Watch health this long after the step's devices are healthy, then advance. */
  readonly pauseMs?: number;
  /** Wait for `wasmfleet rollout resume` (or promote) after the step is healthy. */
  readonly manual?: boolean;
}

export type RolloutPolicy =
  | {
      readonly strategy: 'Rolling';
      readonly maxUnavailable: { readonly count: number } | { readonly percent: number };
    }
  | { readonly strategy: 'Canary'; readonly steps: readonly CanaryStepPolicy[] };

export interface RolloutSettings {
  readonly policy: RolloutPolicy;
  /** Roll out one label value at a time: devices whose label is first in `order` go first. */
  readonly waves?: { readonly labelKey: string; readonly order: readonly string[] };
  /** errors / invocations over the updated devices above this fails the step (0–1). */
  readonly maxErrorRate?: number;
  /** A step (or a Rolling batch) that makes no progress for this long fails. */
  readonly progressDeadlineMs: number;
  readonly onFailure: 'Rollback' | 'Pause';
}

/** What one targeted device reports for this function. */
export interface DeviceReport {
  readonly revision: string;
  /** Running, Failed, CrashLoopBackOff, Pending, Fetching, Starting. */
  readonly phase: string;
  readonly invocations: number;
  readonly errors: number;
  readonly reason?: string;
  readonly message?: string;
  readonly lastError?: string;
  /** The device's health window (ADR 0022): its last calls, and how many of them failed. */
  readonly recentCalls?: number;
  readonly recentErrors?: number;
}

export interface TargetDevice {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly online: boolean;
  /** The revision its document currently says (undefined: not assigned yet). */
  readonly assigned: string | undefined;
  readonly report: DeviceReport | undefined;
}

/** Persisted between reconciles (in status.rollout); undefined before the first rollout. */
export interface RolloutProgress {
  /** The revision being rolled out. */
  readonly revision: string;
  /** Canary: index of the current step (promote jumps to the last); Rolling: 0, or 1 once promoted. */
  readonly step: number;
  /** When the current step (or, for Rolling, the last progress) began (epoch ms). */
  readonly stepStartedAt: number;
  /** When the current step's devices were all healthy (epoch ms), if they are. */
  readonly stepHealthyAt?: number;
  /**
   * A revision that failed and was rolled back/paused: never retried until the spec changes. With
   * `paused` it is frozen (onFailure: Pause) until resume at this step, promote or abort.
   */
  readonly failedRevision?: string;
  readonly paused?: boolean;
}

export interface RolloutControls {
  /** spec.paused. */
  readonly paused: boolean;
  /** `wasmfleet rollout promote`: skip the remaining steps and gates for this revision. */
  readonly promote: boolean;
  /** `wasmfleet rollout resume` at a manual gate: the step index whose gate is passed. */
  readonly gatePassedStep?: number;
  /** `wasmfleet rollout abort`: back to the stable revision, and stay there. */
  readonly abort: boolean;
}

export interface RolloutInput {
  /** Stable key used to pick canary devices deterministically (namespace/name). */
  readonly functionKey: string;
  readonly settings: RolloutSettings;
  /** The stable revision devices ran before; undefined for a brand-new function. */
  readonly currentRevision: string | undefined;
  readonly updateRevision: string;
  /** Devices placement chose, in any order. */
  readonly targets: readonly TargetDevice[];
  readonly progress: RolloutProgress | undefined;
  readonly controls: RolloutControls;
  readonly now: number;
}

export type RolloutPhase = 'Progressing' | 'Paused' | 'Complete' | 'Degraded' | 'RolledBack' | 'Aborted';

export interface RolloutEvent {
  readonly type: 'Normal' | 'Warning';
  readonly reason: RolloutEventReason;
  readonly message: string;
}

export interface RolloutDecision {
  /** Target device → revision it should run (every target appears). */
  readonly assignments: ReadonlyMap<string, string>;
  readonly progress: RolloutProgress;
  readonly phase: RolloutPhase;
  /** True once every target reports the update revision Running: currentRevision := update. */
  readonly complete: boolean;
  /** Share of targets assigned the update revision, 0–100, for status and the CLI. */
  readonly percent: number;
  readonly errorRate: number | undefined;
  /** One line for status.rollout.message and `wasmfleet rollout status`. */
  readonly message: string;
  readonly events: readonly RolloutEvent[];
  /** Reconcile again by then even if nothing changes (a pause ends, a deadline passes). */
  readonly wakeAt?: number;
}
