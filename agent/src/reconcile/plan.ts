// SPDX-License-Identifier: Apache-2.0
// Diffing the desired functions against what runs (pure): which to start, replace or stop.
// Level-triggered: the same desired document always yields an empty plan once converged.
import { functionKey, type DesiredFunction } from '@wasmfleet/api';

export interface RunningFunction {
  readonly key: string;
  readonly revision: string;
}

export interface Plan {
  readonly start: readonly DesiredFunction[];
  readonly replace: readonly DesiredFunction[];
  readonly stop: readonly string[];
}

export function plan(desired: readonly DesiredFunction[], running: readonly RunningFunction[]): Plan {
  const current = new Map(running.map((r) => [r.key, r.revision]));
  const wanted = new Set<string>();
  const start: DesiredFunction[] = [];
  const replace: DesiredFunction[] = [];
  for (const fn of desired) {
    const key = functionKey(fn);
    if (wanted.has(key)) continue; // duplicate entries: the first wins
    wanted.add(key);
    const revision = current.get(key);
    if (revision === undefined) start.push(fn);
    else if (revision !== fn.revision) replace.push(fn);
  }
  const stop = running.filter((r) => !wanted.has(r.key)).map((r) => r.key);
  return { start, replace, stop };
}
