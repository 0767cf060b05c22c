// SPDX-License-Identifier: Apache-2.0
// The one shape of the agent's typed failures: an Error with a machine-readable `reason` (a
// FailureReason the function status shows, or a narrower set) beside a message that says what to
// fix. LoadError is what loadFunction rejects with.
import type { FailureReason } from './types.ts';

export class ReasonError<R extends string> extends Error {
  readonly reason: R;
  constructor(reason: R, message: string, options?: ErrorOptions) {
    super(message, options);
    this.reason = reason;
  }
}

export class LoadError extends ReasonError<FailureReason> {
  override readonly name = 'LoadError';
}

export function isLoadError(error: unknown): error is LoadError {
  return error instanceof LoadError;
}
