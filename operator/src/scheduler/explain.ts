// SPDX-License-Identifier: Apache-2.0
// Why a function is short, in words a user can act on. Runs only for functions that are short or
// have nowhere to go, after every placement of the run, so it sees the final capacity picture.
import { formatBytes } from '@wasmfleet/api';
import { mayPlace, targets } from './eligibility.ts';
import type { PreparedFunction, PreparedNode } from './prepared.ts';
import { describeTaint } from './taints.ts';
import type { Usage } from './usage.ts';

export interface Explanation {
  readonly desired: number;
  readonly reason?: string;
}

interface Census {
  /** Nodes the selector and sensors admit. */
  matching: number;
  /** Nodes that match the selector but lack a sensor. */
  lackSensors: number;
  /** Matching nodes that run it, or could if they had room. */
  eligible: number;
  cordoned: number;
  offline: number;
  full: number;
  noMemory: number;
  taints: Map<string, number>;
}

function census(
  pf: PreparedFunction,
  placed: ReadonlySet<string>,
  nodes: Iterable<PreparedNode>,
  usage: Usage,
): Census {
  const c: Census = {
    matching: 0,
    lackSensors: 0,
    eligible: 0,
    cordoned: 0,
    offline: 0,
    full: 0,
    noMemory: 0,
    taints: new Map(),
  };
  for (const pn of nodes) {
    const node = pn.node;
    const target = targets(pf, pn);
    if (!target.ok) {
      if (target.why === 'sensors') c.lackSensors++;
      continue;
    }
    c.matching++;
    if (placed.has(node.name)) {
      c.eligible++;
      continue;
    }
    const verdict = mayPlace(pf, pn);
    if (verdict.ok) {
      c.eligible++;
      if (usage.shortage(node.name, node.capacity) === 'functions') c.full++;
      else c.noMemory++;
    } else if (verdict.why === 'cordoned') c.cordoned++;
    else if (verdict.why === 'offline') c.offline++;
    else if (verdict.why === 'taint') {
      const text = describeTaint(verdict.taint);
      c.taints.set(text, (c.taints.get(text) ?? 0) + 1);
    }
  }
  return c;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** "2 cordoned, 1 offline, 3 at their function limit" — the matching nodes that cannot take more. */
function obstacles(pf: PreparedFunction, c: Census): string {
  const parts: string[] = [];
  if (c.cordoned > 0) parts.push(`${c.cordoned} cordoned`);
  if (c.offline > 0) parts.push(`${c.offline} offline`);
  const taints = [...c.taints].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [taint, n] of taints.slice(0, 3)) parts.push(`${n} with untolerated taint ${taint}`);
  if (taints.length > 3) parts.push(`${taints.length - 3} more with other untolerated taints`);
  if (c.full > 0) parts.push(`${c.full} at their function limit`);
  if (c.noMemory > 0) parts.push(`${c.noMemory} without ${formatBytes(pf.fn.memoryBytes)} of free memory`);
  return parts.join(', ');
}

function noMatch(pf: PreparedFunction, c: Census): string {
  const verb = c.lackSensors === 1 ? 'matches' : 'match';
  const hint =
    c.lackSensors > 0 ? ` (${plural(c.lackSensors, 'node')} ${verb} the selector but lack a sensor)` : '';
  return `no node matches ${pf.target}${hint}`;
}

/** "3 nodes match selector site=p1", or "3 nodes exist" when the function targets any node. */
function matching(pf: PreparedFunction, c: Census): string {
  if (pf.target === 'any node') return `${plural(c.matching, 'node')} exist${c.matching === 1 ? 's' : ''}`;
  return `${plural(c.matching, 'node')} ${c.matching === 1 ? 'matches' : 'match'} ${pf.target}`;
}

/** `candidates`: at least every node the selector matches (an index lookup, not the whole fleet). */
export function explain(
  pf: PreparedFunction,
  placed: readonly string[],
  candidates: Iterable<PreparedNode>,
  usage: Usage,
): Explanation {
  if (pf.error !== undefined) return { desired: 0, reason: `invalid spec: ${pf.error}` };
  const c = census(pf, new Set(placed), candidates, usage);
  if (pf.fn.mode === 'Every') {
    if (c.matching === 0) return { desired: 0, reason: noMatch(pf, c) };
    if (c.eligible === 0) {
      return { desired: 0, reason: `${matching(pf, c)} but none can take it: ${obstacles(pf, c)}` };
    }
    if (placed.length >= c.eligible) return { desired: c.eligible };
    return {
      desired: c.eligible,
      reason: `placed on ${placed.length} of ${plural(c.eligible, 'eligible node')}: ${obstacles(pf, c)}`,
    };
  }
  const desired = pf.replicas;
  if (placed.length >= desired) return { desired };
  const head = `${placed.length} of ${plural(desired, 'replica')} placed: `;
  if (c.matching === 0) return { desired, reason: head + noMatch(pf, c) };
  const blockers = obstacles(pf, c);
  if (blockers === '') return { desired, reason: `${head}only ${matching(pf, c)}` };
  return { desired, reason: `${head}${matching(pf, c)}; ${blockers}` };
}
