// SPDX-License-Identifier: Apache-2.0
// Whether a function on a device is failing, judged from what the device reports (ADR 0022). An
// instance that can never run (Failed) or is backing off after crashes (CrashLoopBackOff) is
// failing; so is one whose recent calls mostly fail — judged by the error ratio over the
// device's window of its last calls, never by a rate, so a function failing every call is
// failing however seldom its inputs come. One definition for the operator (conditions, rollout
// gates) and the CLI (what `describe` shows from a device's retained status).
/** The agent's health window: its last this-many calls of a revision, however long ago. */
export const RECENT_CALLS_WINDOW = 20;
/** Failing calls needed before a function counts as failing (one bad reading is not a pattern). */
export const FAILING_MIN_ERRORS = 3;
/** Share of the window's calls that failed at which the function counts as failing. */
export const FAILING_ERROR_RATIO = 0.5;

export type FunctionHealth =
  | { readonly failing: false }
  | {
      readonly failing: true;
      /** The instance's state: it cannot run, it is crash-looping, or its calls fail. */
      readonly kind: 'Failed' | 'CrashLoopBackOff' | 'CallsFailing';
      /** Why, in one word: the agent's reason (Trap, MissingImport, …) or CallsFailing. */
      readonly reason: string;
      readonly message: string;
    };

/** The fields of a device's function report that health is judged from. */
export interface HealthReport {
  /** The wire phase: Pending, Fetching, Starting, Running, Failed or CrashLoopBackOff. */
  readonly phase: string;
  readonly reason?: string | undefined;
  readonly message?: string | undefined;
  readonly lastError?: string | undefined;
  readonly recentCalls?: number | undefined;
  readonly recentErrors?: number | undefined;
}

/** True when most of the function's recent calls failed, and at least FAILING_MIN_ERRORS did. */
export function callsFailing(report: Pick<HealthReport, 'recentCalls' | 'recentErrors'>): boolean {
  const calls = report.recentCalls ?? 0;
  const errors = report.recentErrors ?? 0;
  return errors >= FAILING_MIN_ERRORS && errors >= calls * FAILING_ERROR_RATIO;
}

export function functionHealth(report: HealthReport): FunctionHealth {
  if (report.phase === 'Failed' || report.phase === 'CrashLoopBackOff') {
    return {
      failing: true,
      kind: report.phase,
      reason: report.reason ?? report.phase,
      message: report.message ?? report.lastError ?? report.phase,
    };
  }
  if (!callsFailing(report)) return { failing: false };
  const last = report.lastError ? `; last: ${report.lastError}` : '';
  return {
    failing: true,
    kind: 'CallsFailing',
    reason: 'CallsFailing',
    message: `${report.recentErrors ?? 0} of the last ${report.recentCalls ?? 0} calls failed${last}`,
  };
}
