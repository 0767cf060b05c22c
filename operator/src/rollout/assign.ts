// SPDX-License-Identifier: Apache-2.0
// Turns "which devices hold the update" into the per-device assignment map the reconciler publishes.
import type { TargetDevice } from './types.ts';

export function assignAll(targets: readonly TargetDevice[], revision: string): Map<string, string> {
  return new Map(targets.map((t) => [t.name, revision]));
}

export function assignSplit(
  targets: readonly TargetDevice[],
  updated: ReadonlySet<string>,
  update: string,
  current: string,
): Map<string, string> {
  return new Map(targets.map((t) => [t.name, updated.has(t.name) ? update : current]));
}

/**
 * Paused: every device keeps what it has. A device holding neither revision (a superseded one, or
 * nothing yet) gets the stable revision — never the superseded one.
 */
export function assignFrozen(
  targets: readonly TargetDevice[],
  update: string,
  current: string,
): Map<string, string> {
  return new Map(targets.map((t) => [t.name, t.assigned === update ? update : current]));
}

export function countAssigned(assignments: ReadonlyMap<string, string>, revision: string): number {
  let n = 0;
  for (const r of assignments.values()) if (r === revision) n++;
  return n;
}
