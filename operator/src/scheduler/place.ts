// SPDX-License-Identifier: Apache-2.0
// Phase 2 of a run: new assignments into free capacity. Functions are placed one at a time in key
// order, so when two compete for the last slot on a device the outcome depends on names only.
import { mayPlace } from './eligibility.ts';
import { affinity, compareStrings } from './order.ts';
import type { PreparedFunction, PreparedNode } from './prepared.ts';
import type { SchedulableNode } from './types.ts';
import type { Usage } from './usage.ts';

export interface EveryOutcome {
  readonly added: string[];
  /** Some eligible node had no room: the function is short. */
  readonly blocked: boolean;
}

/** Every: each eligible node that has room and does not run it yet. */
export function placeEvery(
  pf: PreparedFunction,
  kept: readonly string[],
  candidates: Iterable<PreparedNode>,
  usage: Usage,
): EveryOutcome {
  const have = new Set(kept);
  const added: string[] = [];
  let blocked = false;
  for (const pn of candidates) {
    const name = pn.node.name;
    if (have.has(name) || !mayPlace(pf, pn).ok) continue;
    if (usage.fits(name, pn.node.capacity, pf.fn.memoryBytes)) {
      usage.add(name, pf.fn.memoryBytes);
      added.push(name);
      have.add(name);
    } else {
      blocked = true;
    }
  }
  return { added, blocked };
}

interface Choice {
  readonly name: string;
  readonly rank: number;
}

function byRank(a: Choice, b: Choice): number {
  return a.rank - b.rank || compareStrings(a.name, b.name);
}

/**
 * Replicas: top up to `replicas`. With a spread key each new replica goes to the domain that has
 * the fewest so far (nodes without the label last), and inside a domain to the node the function
 * hashes closest to — so the choice does not depend on input order and differs per function.
 * Spread is a preference, not a hard rule: replicas stay exact when nodes exist, even if uneven.
 */
export function placeReplicas(
  pf: PreparedFunction,
  kept: readonly string[],
  candidates: Iterable<PreparedNode>,
  nodes: ReadonlyMap<string, SchedulableNode>,
  usage: Usage,
): string[] {
  const need = pf.replicas - kept.length;
  if (need <= 0) return [];
  const key = pf.fn.key;
  const topologyKey = pf.fn.spread?.topologyKey;
  const domainOf = (node: SchedulableNode): string | undefined =>
    topologyKey === undefined ? '' : node.labels[topologyKey];

  const have = new Set(kept);
  const pools = new Map<string | undefined, Choice[]>();
  for (const pn of candidates) {
    const name = pn.node.name;
    if (have.has(name) || !mayPlace(pf, pn).ok || !usage.fits(name, pn.node.capacity, pf.fn.memoryBytes)) {
      continue;
    }
    have.add(name);
    const domain = domainOf(pn.node);
    let pool = pools.get(domain);
    if (pool === undefined) pools.set(domain, (pool = []));
    pool.push({ name, rank: affinity(key, name) });
  }
  for (const pool of pools.values()) pool.sort(byRank).reverse(); // pop() takes the best

  const counts = new Map<string | undefined, number>();
  for (const name of kept) {
    const node = nodes.get(name);
    if (node === undefined) continue;
    const domain = domainOf(node);
    counts.set(domain, (counts.get(domain) ?? 0) + 1);
  }
  const domainRank = (d: string | undefined): [number, number, number] => [
    d === undefined ? 1 : 0,
    counts.get(d) ?? 0,
    affinity(key, d ?? ''),
  ];
  const compareDomains = (a: string | undefined, b: string | undefined): number => {
    const [x, y] = [domainRank(a), domainRank(b)];
    return x[0] - y[0] || x[1] - y[1] || x[2] - y[2] || compareStrings(a ?? '', b ?? '');
  };

  const added: string[] = [];
  while (added.length < need) {
    let best: { domain: string | undefined; pool: Choice[] } | undefined;
    for (const [domain, pool] of pools) {
      if (pool.length > 0 && (best === undefined || compareDomains(domain, best.domain) < 0))
        best = { domain, pool };
    }
    if (best === undefined) break;
    const choice = best.pool.pop();
    if (choice === undefined) break;
    usage.add(choice.name, pf.fn.memoryBytes);
    counts.set(best.domain, (counts.get(best.domain) ?? 0) + 1);
    added.push(choice.name);
  }
  return added;
}
