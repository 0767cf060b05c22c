// SPDX-License-Identifier: Apache-2.0
// The write fence: one question every write path asks just before it writes to the API server
// or the broker — "may this replica still write?" — so a leader that lost its Lease without
// noticing yet (frozen by SIGSTOP, a long GC pause, a VM migration: its timers fire late) never
// acts on stale state. See docs/adr/0014-leader-write-fencing.md.

/** Thrown instead of writing; the reconcile fails and the replica is stepping down. */
export class FencedError extends Error {
  override readonly name = 'FencedError';
}

export interface WriteFence {
  /** Returns when writing is allowed; throws FencedError (naming `what`) when it is not. */
  check(what: string): void;
}

/** No fencing: a single replica (no leader election), or tests of one component. */
export const unfenced: WriteFence = { check: () => undefined };
