// SPDX-License-Identifier: Apache-2.0
// Reads the simple JSONPaths used by CRD printer columns (`.status.ready`, `.spec.sensors[*].name`)
// so `wasmfleet get` shows exactly the columns `kubectl get` shows.
export function readPath(object: unknown, jsonPath: string): unknown {
  const steps = jsonPath.replace(/^\./, '').split('.').filter(Boolean);
  let current: unknown[] = [object];
  for (const step of steps) {
    const star = step.endsWith('[*]');
    const index = /\[(\d+)\]$/.exec(step);
    const key = step.replace(/\[(\*|\d+)\]$/, '');
    const next: unknown[] = [];
    for (const value of current) {
      if (value === null || typeof value !== 'object') continue;
      const child = (value as Record<string, unknown>)[key];
      if (star && Array.isArray(child)) next.push(...(child as unknown[]));
      else if (index && Array.isArray(child)) next.push((child as unknown[])[Number(index[1])]);
      else if (child !== undefined) next.push(child);
    }
    current = next;
  }
  if (current.length === 0) return undefined;
  return current.length === 1 ? current[0] : current;
}
