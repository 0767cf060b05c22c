// SPDX-License-Identifier: Apache-2.0
// Phase 1 of a run: which existing assignments of one function stay. Stability lives here: every
// assignment that is still valid is kept, so nothing moves unless something relevant changed.
import { mayPlace, mayStay } from './eligibility.ts';
import { affinity, compareStrings } from './order.ts';
import { prepareNode, type PreparedFunction } from './prepared.ts';
import { removalReason } from './reasons.ts';
import type { Removal, SchedulableNode } from './types.ts';

export interface KeepContext {
  readonly nodes: ReadonlyMap<string, SchedulableNode>;
  readonly now: number;
  readonly graceMs: number;
  readonly removals: Removal[];
}

function check(pf: PreparedFunction, name: string, ctx: KeepContext): boolean {
  const node = ctx.nodes.get(name);
  const verdict = node === undefined ? undefined : mayStay(pf, prepareNode(node), ctx.now, ctx.graceMs);
  if (verdict?.ok === true) return true;
  const reason =
    verdict === undefined ? 'node no longer exists' : removalReason(pf, node, verdict, ctx.graceMs);
  ctx.removals.push({ function: pf.fn.key, node: name, reason });
  return false;
}

/** Re-validates every previous assignment (`prev` sorted, unique). */
export function keepAll(pf: PreparedFunction, prev: readonly string[], ctx: KeepContext): string[] {
  if (pf.error !== undefined) {
    for (const node of prev) {
      ctx.removals.push({ function: pf.fn.key, node, reason: `function spec is invalid: ${pf.error}` });
    }
    return [];
  }
  const kept = prev.filter((name) => check(pf, name, ctx));
  return pf.fn.mode === 'Replicas' ? trimReplicas(pf, kept, ctx) : kept;
}

/** Re-validates only the assignments on `scope` nodes; the rest are known to be unaffected. */
export function keepSome(
  pf: PreparedFunction,
  prev: readonly string[],
  scope: ReadonlySet<string>,
  ctx: KeepContext,
): string[] {
  return prev.filter((name) => !scope.has(name) || check(pf, name, ctx));
}

/** Lower is better to keep: offline, then cordoned or tainted replicas go first on scale-down. */
function badness(pf: PreparedFunction, node: SchedulableNode | undefined): number {
  if (node === undefined || !node.online) return 2;
  return mayPlace(pf, prepareNode(node)).ok ? 0 : 1;
}

/**
 * Scale-down: drop the worst placed replica until `replicas` remain — offline before
 * unschedulable before healthy, then from the most crowded spread domain, then by affinity.
 */
function trimReplicas(pf: PreparedFunction, kept: string[], ctx: KeepContext): string[] {
  if (kept.length <= pf.replicas) return kept;
  const topologyKey = pf.fn.spread?.topologyKey;
  const domainOf = (name: string): string | undefined =>
    topologyKey === undefined ? '' : ctx.nodes.get(name)?.labels[topologyKey];
  const remaining = [...kept];
  while (remaining.length > pf.replicas) {
    const counts = new Map<string | undefined, number>();
    for (const name of remaining) counts.set(domainOf(name), (counts.get(domainOf(name)) ?? 0) + 1);
    const rank = (name: string): [number, number, number] => [
      badness(pf, ctx.nodes.get(name)),
      counts.get(domainOf(name)) ?? 0,
      affinity(pf.fn.key, name),
    ];
    let worst: string | undefined;
    for (const name of remaining) {
      if (worst === undefined) {
        worst = name;
        continue;
      }
      const [a, b] = [rank(name), rank(worst)];
      const cmp = a[0] - b[0] || a[1] - b[1] || a[2] - b[2] || compareStrings(name, worst);
      if (cmp > 0) worst = name;
    }
    if (worst === undefined) break;
    remaining.splice(remaining.indexOf(worst), 1);
    ctx.removals.push({
      function: pf.fn.key,
      node: worst,
      reason: `scaled down to ${pf.replicas} replica${pf.replicas === 1 ? '' : 's'}`,
    });
  }
  return remaining;
}
