// SPDX-License-Identifier: Apache-2.0
// Reads the simple JSONPaths used by CRD printer columns (`.status.ready`, `.spec.sensors[*].name`,
// `.status.conditions[?(@.type=="Ready")].lastTransitionTime`) so `wasmfleet get` shows exactly the
// columns `kubectl get` shows.
const STEP = /\.([A-Za-z0-9_-]+)(?:\[(\*|\d+|\?\(@\.([A-Za-z0-9_]+)==(?:"([^"]*)"|'([^']*)')\))\])?/gy;

export function readPath(object: unknown, jsonPath: string): unknown {
  let current: unknown[] = [object];
  STEP.lastIndex = 0;
  const path = jsonPath.startsWith('.') ? jsonPath : `.${jsonPath}`;
  let consumed = 0;
  for (let m = STEP.exec(path); m; m = STEP.exec(path)) {
    consumed = STEP.lastIndex;
    const [, key = '', selector, field, quoted, single] = m;
    const next: unknown[] = [];
    for (const value of current) {
      if (value === null || typeof value !== 'object') continue;
      const child = (value as Record<string, unknown>)[key];
      if (selector === undefined) {
        if (child !== undefined) next.push(child);
      } else if (Array.isArray(child)) {
        const items = child as unknown[];
        if (selector === '*') next.push(...items);
        else if (field !== undefined) {
          const wanted = quoted ?? single;
          next.push(...items.filter((i) => (i as Record<string, unknown> | null)?.[field] === wanted));
        } else next.push(items[Number(selector)]);
      }
    }
    current = next.filter((v) => v !== undefined);
    if (consumed === path.length) break;
  }
  if (consumed !== path.length || current.length === 0) return undefined;
  return current.length === 1 ? current[0] : current;
}
