// SPDX-License-Identifier: Apache-2.0
// The shapes the decision branches hand each other: a detected Failure and the Outcome of a
// branch. They live apart from failure.ts and outcome.ts so that events → failure → outcome →
// events is no longer an import cycle.
import type { RolloutPhase, RolloutProgress } from './types.ts';

export interface Failure {
  readonly reason: string;
  /** The progress deadline passed (rather than a device or the error rate failing). */
  readonly deadline: boolean;
}

export interface Outcome {
  readonly assignments: ReadonlyMap<string, string>;
  readonly progress: RolloutProgress;
  readonly phase: RolloutPhase;
  readonly complete: boolean;
  readonly errorRate: number | undefined;
  readonly message: string;
  readonly wakeAt?: number | undefined;
  /** The failure detected by this very call, for the event's reason. */
  readonly failure?: Failure | undefined;
}
