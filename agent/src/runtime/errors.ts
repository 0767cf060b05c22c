// SPDX-License-Identifier: Apache-2.0
// The error loadFunction rejects with: a FailureReason the status shows, plus a message that
// says what to fix.
import type { FailureReason } from './types.ts';

export class LoadError extends Error {
  readonly reason: FailureReason;
  constructor(reason: FailureReason, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'LoadError';
    this.reason = reason;
  }
}

export function isLoadError(error: unknown): error is LoadError {
  return error instanceof LoadError;
}
