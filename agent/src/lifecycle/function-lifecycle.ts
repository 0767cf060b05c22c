// SPDX-License-Identifier: Apache-2.0
// The lifecycle of one function on the node, as an explicit state machine (pure):
//
//   Pending → Fetching → Starting → Running
//       ↑         ↓ ↘        ↓ ↘       ↓ (crash: repeated traps/timeouts, or a fetch that failed)
//       │       Failed   CrashLoopBackOff
//       └──────(backoff elapsed: retry)──┘
//
// Failed is terminal for a revision (bad digest, invalid module: retrying cannot help); a new
// revision starts over at Pending. CrashLoopBackOff retries with exponential backoff.
import type { WireFunctionPhase } from '@wasmfleet/api';

export type LifecycleEvent =
  | { readonly type: 'fetch' }
  | { readonly type: 'fetched' }
  | { readonly type: 'started' }
  | { readonly type: 'fatal'; readonly reason: string; readonly message: string }
  | { readonly type: 'crashed'; readonly reason: string; readonly message: string }
  | { readonly type: 'retry' };

export interface LifecycleState {
  readonly phase: WireFunctionPhase;
  readonly reason?: string;
  readonly message?: string;
  readonly restarts: number;
  /** Consecutive crashes since the last healthy run; drives the backoff. */
  readonly crashes: number;
  readonly since: number;
  readonly nextRetryAt?: number;
}

export const BACKOFF_BASE_MS = 1_000;
export const BACKOFF_MAX_MS = 5 * 60_000;

export function initialState(now: number): LifecycleState {
  return { phase: 'Pending', restarts: 0, crashes: 0, since: now };
}

/** Backoff after the n-th consecutive crash: 1 s, 2 s, 4 s … capped at 5 min. */
export function backoffMs(crashes: number): number {
  return Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, crashes - 1));
}

const allowed: Record<LifecycleEvent['type'], readonly WireFunctionPhase[]> = {
  fetch: ['Pending'],
  fetched: ['Fetching'],
  started: ['Starting'],
  fatal: ['Pending', 'Fetching', 'Starting'],
  crashed: ['Fetching', 'Starting', 'Running'],
  retry: ['CrashLoopBackOff'],
};

export function transition(state: LifecycleState, event: LifecycleEvent, now: number): LifecycleState {
  if (!allowed[event.type].includes(state.phase)) {
    throw new Error(`invalid lifecycle transition: ${event.type} in phase ${state.phase}`);
  }
  const base = { restarts: state.restarts, crashes: state.crashes, since: now };
  switch (event.type) {
    case 'fetch':
      return { ...base, phase: 'Fetching' };
    case 'fetched':
      return { ...base, phase: 'Starting' };
    case 'started':
      // A successful start does not reset `crashes`: only a healthy run does (see healthy()).
      return { ...base, phase: 'Running' };
    case 'fatal':
      return { ...base, phase: 'Failed', reason: event.reason, message: event.message };
    case 'crashed': {
      const crashes = state.crashes + 1;
      return {
        ...base,
        phase: 'CrashLoopBackOff',
        crashes,
        reason: event.reason,
        message: event.message,
        nextRetryAt: now + backoffMs(crashes),
      };
    }
    case 'retry':
      return {
        ...base,
        phase: 'Pending',
        restarts: state.restarts + 1,
        reason: state.reason,
        message: state.message,
      };
  }
}

/** After a stretch of successful calls the crash counter resets, so the next backoff is short. */
export function healthy(state: LifecycleState): LifecycleState {
  return state.crashes === 0 ? state : { ...state, crashes: 0 };
}
