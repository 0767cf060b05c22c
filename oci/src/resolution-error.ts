// SPDX-License-Identifier: Apache-2.0
// The typed failures of fetching a module (from a registry, a URL or a ConfigMap): a reason a
// reconciler puts in `ModuleResolved=False`, a message saying what to do, and whether a retry
// can help.
export const FAILURE_REASONS = [
  'Unreachable',
  'NotFound',
  'DigestMismatch',
  'NotWasm',
  'TooLarge',
  'Unauthorized',
  'MissingReference',
  'InvalidSource',
  'Unsigned',
] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

export interface ModuleFailure {
  /** CamelCase, fit for a Condition's `reason`. */
  readonly reason: FailureReason;
  /** One or two sentences for the Condition's `message`: what is wrong and what to do. */
  readonly message: string;
  /**
   * True when trying again later may succeed without the user changing anything (network,
   * server errors, timeouts), so the work queue should requeue with backoff; false when only an
   * edit of the spec or of the referenced object will help (watches bring that edit in).
   */
  readonly retryable: boolean;
}

/**
 * Thrown inside the resolver's sources and caught once at the top, so each source can stop at
 * the first problem with a precise reason instead of threading results through every helper.
 */
export class ModuleResolutionError extends Error {
  readonly reason: FailureReason;
  readonly retryable: boolean;

  constructor(
    reason: FailureReason,
    message: string,
    options: { retryable?: boolean; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ModuleResolutionError';
    this.reason = reason;
    this.retryable = options.retryable ?? reason === 'Unreachable';
  }

  toFailure(): ModuleFailure {
    return { reason: this.reason, message: this.message, retryable: this.retryable };
  }
}
