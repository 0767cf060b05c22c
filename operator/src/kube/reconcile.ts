// SPDX-License-Identifier: Apache-2.0
// Runs reconcilers off a WorkQueue, with controller-runtime's result handling:
// - returns nothing / {}          → success: forget the key's backoff;
// - returns { requeueAfter: ms }  → forget the backoff and look again after ms (polling);
// - throws TerminalError          → the reconciler already recorded the problem in status and a
//                                   retry cannot help: forget, do not requeue (a spec change will
//                                   enqueue the key again);
// - throws anything else          → requeue with the per-key exponential backoff.
// Every reconcile has an ID; its log lines carry `controller`, `object` (ns/name) and
// `reconcileID`, as controller-runtime's do.
import { silentLogger, type Logger } from '@wasmfleet/api';
import { systemClock, type Clock } from './clock.ts';
import { splitKey, type ObjectKey } from './keys.ts';
import type { WorkQueue } from './queue.ts';

export interface ReconcileResult {
  /** Reconcile again after this many milliseconds even if nothing changes. */
  readonly requeueAfter?: number;
}

export interface ReconcileRequest extends ObjectKey {
  readonly key: string;
  /** How many times this key was requeued by failures since it last succeeded. */
  readonly retries: number;
}

// Promise<void> too, so a reconciler that never asks for a timed requeue can be a plain async function.
export type Reconciler = (request: ReconcileRequest) => Promise<ReconcileResult | undefined> | Promise<void>;

/** A failure that retrying cannot fix (bad spec, missing reference the user must create). */
export class TerminalError extends Error {
  override readonly name = 'TerminalError';
}

export type ReconcileOutcome = 'success' | 'requeue_after' | 'error' | 'terminal';

/** Observers for metrics and logs (see OperatorMetrics.reconcileHooks). */
export interface ReconcileHooks {
  reconciled?(controller: string, outcome: ReconcileOutcome, seconds: number): void;
  /** Called for every thrown error, terminal or not, with the key for context. */
  failed?(controller: string, key: string, error: unknown): void;
}

export interface ReconcileLoopOptions {
  /** Names the controller in metrics and logs; defaults to the queue's name. */
  readonly controller?: string;
  /** Keys reconciled at the same time (distinct keys only; one key never runs twice at once). */
  readonly workers?: number;
  readonly hooks?: ReconcileHooks;
  readonly clock?: Clock;
  /** Failures at error level, every reconcile's outcome at debug (default: none). */
  readonly log?: Logger;
}

export interface RunningLoop {
  /** Resolves when every worker has exited, i.e. after queue.shutdown() and in-flight work ended. */
  readonly stopped: Promise<void>;
}

function parseKey(key: string): ObjectKey {
  try {
    return splitKey(key);
  } catch (error) {
    // A malformed key never becomes valid: retrying it would only spin.
    throw new TerminalError(`cannot reconcile key "${key}"`, { cause: error });
  }
}

/** The error's class only when it is not a plain Error: a TypeError here is a bug, not a retry. */
function describeFailure(error: unknown): string {
  return error instanceof Error
    ? `${error.name === 'Error' ? '' : `${error.name}: `}${error.message}`
    : String(error);
}

export function reconcileLoop(
  queue: WorkQueue,
  reconcile: Reconciler,
  options: ReconcileLoopOptions = {},
): RunningLoop {
  const controller = options.controller ?? queue.name;
  const workers = options.workers ?? 1;
  const hooks = options.hooks ?? {};
  const clock = options.clock ?? systemClock;
  const log = (options.log ?? silentLogger).with({ controller });
  if (!Number.isInteger(workers) || workers < 1) {
    throw new Error(`reconcileLoop for ${controller}: workers must be a positive integer, got ${workers}`);
  }

  const processOne = async (key: string): Promise<void> => {
    const started = clock.now();
    const reconcileID = crypto.randomUUID();
    let outcome: ReconcileOutcome;
    try {
      const request: ReconcileRequest = { key, ...parseKey(key), retries: queue.numRequeues(key) };
      const result = await reconcile(request);
      queue.forget(key);
      const after = result ? result.requeueAfter : undefined;
      if (after !== undefined && after > 0) {
        queue.addAfter(key, after);
        outcome = 'requeue_after';
      } else {
        outcome = 'success';
      }
    } catch (error) {
      hooks.failed?.(controller, key, error);
      // A failed reconcile is retried (with backoff); say why, or it only shows as a metric.
      log.error(`${controller} ${key}: reconcile failed: ${describeFailure(error)}`, {
        object: key,
        reconcileID,
        terminal: error instanceof TerminalError,
      });
      if (error instanceof TerminalError) {
        queue.forget(key);
        outcome = 'terminal';
      } else {
        queue.addRateLimited(key);
        outcome = 'error';
      }
    } finally {
      queue.done(key);
    }
    const seconds = (clock.now() - started) / 1000;
    hooks.reconciled?.(controller, outcome, seconds);
    log.debug('reconciled', { object: key, reconcileID, outcome, durationMs: Math.round(seconds * 1000) });
  };

  const worker = async (): Promise<void> => {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      await processOne(key);
    }
  };

  const stopped = Promise.all(Array.from({ length: workers }, worker)).then(() => undefined);
  return { stopped };
}
