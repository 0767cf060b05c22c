// SPDX-License-Identifier: Apache-2.0
// Independent checks of a result, written from the rules rather than from the implementation.
import assert from 'node:assert/strict';
import { matchesSelector } from '../../src/scheduler/selector.ts';
import { tolerates } from '../../src/scheduler/taints.ts';
import type {
  SchedulableFunction,
  SchedulableNode,
  ScheduleResult,
  Taint,
} from '../../src/scheduler/index.ts';
import { GRACE } from './arbitraries.ts';

const untolerated = (f: SchedulableFunction, t: Taint) => !f.tolerations.some((x) => tolerates(x, t));

export function targetsNode(f: SchedulableFunction, n: SchedulableNode): boolean {
  return matchesSelector(f.selector, n.labels) && f.sensors.every((s) => n.sensors.includes(s));
}

/** Could this function stay on the node if it already ran there? */
export function mayStay(f: SchedulableFunction, n: SchedulableNode, now: number): boolean {
  if (!targetsNode(f, n) || n.taints.some((t) => t.effect === 'NoExecute' && untolerated(f, t))) return false;
  if (f.mode === 'Replicas' && !n.online) return n.offlineSince !== undefined && now - n.offlineSince < GRACE;
  return true;
}

/** Could it newly go there, capacity aside? */
export function mayPlace(f: SchedulableFunction, n: SchedulableNode): boolean {
  return (
    targetsNode(f, n) &&
    !n.unschedulable &&
    !n.taints.some((t) => untolerated(f, t)) &&
    (f.mode === 'Every' || n.online)
  );
}

export function checkInvariants(
  result: ScheduleResult,
  functions: readonly SchedulableFunction[],
  nodes: readonly SchedulableNode[],
  current: ReadonlyMap<string, readonly string[]>,
  now: number,
): void {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const count = new Map<string, number>();
  const memory = new Map<string, number>();
  for (const f of functions) {
    const placed = result.placements.get(f.key)?.nodes ?? [];
    assert.equal(new Set(placed).size, placed.length, `${f.key} placed twice on one node`);
    const before = current.get(f.key) ?? [];
    for (const name of placed) {
      const n = byName.get(name);
      assert.ok(n !== undefined, `${f.key} on unknown node ${name}`);
      assert.ok(mayStay(f, n, now), `${f.key} on non-matching or untolerated node ${name}`);
      if (!before.includes(name))
        assert.ok(mayPlace(f, n), `${f.key} newly placed on ineligible node ${name}`);
      count.set(name, (count.get(name) ?? 0) + 1);
      memory.set(name, (memory.get(name) ?? 0) + f.memoryBytes);
    }
    if (f.mode === 'Replicas')
      assert.ok(placed.length <= (f.replicas ?? 1), `${f.key} has too many replicas`);
  }
  for (const n of nodes) {
    assert.ok((count.get(n.name) ?? 0) <= n.capacity.functions, `${n.name} over its function count`);
    assert.ok((memory.get(n.name) ?? 0) <= n.capacity.memoryBytes, `${n.name} over its memory`);
  }
  // The bookkeeping the incremental path relies on must agree with the placements.
  assert.deepEqual(result.state.usage.functions, new Map([...count].filter(([, v]) => v > 0)));
  assert.deepEqual(result.state.usage.memoryBytes, new Map([...memory].filter(([, v]) => v > 0)));
}

/**
 * Maximality: a function short of what it wants has no node left that it could use and that has
 * room ("replicas exact when possible", "every eligible node" for Every).
 */
export function checkMaximal(
  result: ScheduleResult,
  functions: readonly SchedulableFunction[],
  nodes: readonly SchedulableNode[],
): void {
  const usage = result.state.usage;
  for (const f of functions) {
    const p = result.placements.get(f.key);
    assert.ok(p !== undefined);
    if (f.mode === 'Replicas' && p.nodes.length >= (f.replicas ?? 1)) continue;
    for (const n of nodes) {
      if (p.nodes.includes(n.name) || !mayPlace(f, n)) continue;
      const room =
        (usage.functions.get(n.name) ?? 0) + 1 <= n.capacity.functions &&
        (usage.memoryBytes.get(n.name) ?? 0) + f.memoryBytes <= n.capacity.memoryBytes;
      assert.ok(!room, `${f.key} is short but ${n.name} could take it`);
    }
  }
}
