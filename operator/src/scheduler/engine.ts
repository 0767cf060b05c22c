// SPDX-License-Identifier: Apache-2.0
// One scheduling run over a set of functions ("work"); the full run and the incremental run are
// the same engine with different work. Functions outside the work keep their previous result as
// is, which is correct because the incremental caller only leaves out functions that no change
// can affect (see affected.ts) — and tests check incremental == full.
//
//   1. keep:     re-validate existing assignments of each function in the work (keep.ts);
//   2. admit:    resolve devices now over capacity, first-fit in key order (admission.ts);
//   3. place:    top up in key order into free capacity only, so new work never displaces old;
//   4. explain:  reasons for short functions, against the final capacity picture.
import { admit, type Tenant } from './admission.ts';
import { explain } from './explain.ts';
import { keepAll, keepSome, type KeepContext } from './keep.ts';
import type { NodeIndex } from './node-index.ts';
import { compareStrings, sortedIncludes } from './order.ts';
import { placeEvery, placeReplicas } from './place.ts';
import { prepareFunction, prepareNode, type PreparedNode } from './prepared.ts';
import type {
  FunctionPlacement,
  Removal,
  SchedulableFunction,
  SchedulableNode,
  SchedulerOptions,
} from './types.ts';
import type { Usage } from './usage.ts';

/** 'all' re-examines every assignment and candidate; a node set re-examines only those nodes. */
export type Scope = 'all' | NodeScope;

/**
 * Only these nodes can change the function's result. `freed` adds every node whose usage went down
 * in this run: a short Every function can only gain where a node changed or room was freed.
 */
export interface NodeScope {
  readonly nodes: ReadonlySet<string>;
  readonly freed: boolean;
}

export interface RunSpec {
  readonly functions: ReadonlyMap<string, SchedulableFunction>;
  readonly nodes: ReadonlyMap<string, SchedulableNode>;
  readonly index: NodeIndex;
  /** Previous assignments by function, each sorted and unique. */
  readonly previous: (key: string) => readonly string[];
  /** Set when `usage` already counts the previous assignments (incremental runs). */
  readonly previousFunctions?: ReadonlyMap<string, SchedulableFunction>;
  /** Mutated: ends as the usage of the new placement. */
  readonly usage: Usage;
  /** Mutated: functions evicted for capacity join with scope 'all'. Removed functions may be listed. */
  readonly work: Map<string, Scope>;
  /** Nodes added, changed or removed since the previous result. */
  readonly changedNodes: readonly string[];
  /** The previous result, for incremental runs: lets a short function whose inputs did not move keep its words. */
  readonly previousResult?: {
    readonly placements: ReadonlyMap<string, FunctionPlacement>;
    readonly nodes: ReadonlyMap<string, SchedulableNode>;
  };
  readonly options: SchedulerOptions;
  readonly now: number;
}

export interface FunctionOutcome {
  readonly placement: FunctionPlacement;
  /** Its result can change without a change of its own: short, or a replica on an offline node. */
  readonly watch: boolean;
  readonly wakeAt?: number;
}

export interface RunOutput {
  readonly outcomes: Map<string, FunctionOutcome>;
  readonly removals: Removal[];
}

function keepPhase(spec: RunSpec, ctx: KeepContext, touched: Set<string>): Map<string, string[]> {
  const kept = new Map<string, string[]>();
  for (const [key, scope] of spec.work) {
    const fn = spec.functions.get(key);
    const previous = spec.previous(key);
    if (scope === 'all') {
      const before = spec.previousFunctions?.get(key);
      if (before !== undefined) for (const node of previous) spec.usage.subtract(node, before.memoryBytes);
      if (fn === undefined) continue;
      const list = keepAll(prepareFunction(fn), previous, ctx);
      for (const node of list) {
        spec.usage.add(node, fn.memoryBytes);
        touched.add(node);
      }
      kept.set(key, list);
    } else if (fn !== undefined) {
      const list = keepSome(prepareFunction(fn), previous, scope.nodes, ctx);
      for (const node of scope.nodes) {
        if (sortedIncludes(previous, node) && !sortedIncludes(list, node))
          spec.usage.subtract(node, fn.memoryBytes);
      }
      kept.set(key, list);
    }
  }
  return kept;
}

function admissionPhase(
  spec: RunSpec,
  kept: Map<string, string[]>,
  touched: Set<string>,
  removals: Removal[],
): void {
  for (const node of spec.changedNodes) touched.add(node);
  const over = new Map<string, Tenant[]>();
  for (const name of touched) {
    const node = spec.nodes.get(name);
    if (node !== undefined && spec.usage.overCapacity(name, node.capacity)) over.set(name, []);
  }
  if (over.size === 0) return;
  for (const [key, fn] of spec.functions) {
    for (const node of kept.get(key) ?? (spec.work.has(key) ? [] : spec.previous(key))) {
      over.get(node)?.push({ key, memoryBytes: fn.memoryBytes });
    }
  }
  for (const [name, tenants] of over) {
    const node = spec.nodes.get(name);
    if (node === undefined) continue;
    for (const { key, reason } of admit(node, tenants)) {
      const list = kept.get(key) ?? [...spec.previous(key)];
      kept.set(
        key,
        list.filter((n) => n !== name),
      );
      spec.work.set(key, 'all');
      spec.usage.subtract(name, spec.functions.get(key)?.memoryBytes ?? 0);
      removals.push({ function: key, node: name, reason });
    }
  }
}

function candidatesIn(spec: RunSpec, scope: NodeScope, freed: ReadonlySet<string>): PreparedNode[] {
  const names = scope.freed ? new Set([...scope.nodes, ...freed]) : scope.nodes;
  const list: PreparedNode[] = [];
  for (const name of names) {
    const node = spec.nodes.get(name);
    if (node !== undefined) list.push(prepareNode(node));
  }
  return list;
}

function outcome(
  spec: RunSpec,
  fn: SchedulableFunction,
  nodes: string[],
  blocked: boolean,
  wasShort: boolean,
): FunctionOutcome {
  const pf = prepareFunction(fn);
  nodes.sort(compareStrings);
  // A function that was short and was only looked at on some nodes may still be short elsewhere:
  // the census in explain() decides.
  const needsWords =
    wasShort ||
    pf.error !== undefined ||
    blocked ||
    nodes.length < pf.replicas ||
    (fn.mode === 'Every' && nodes.length === 0);
  const { desired, reason } = needsWords
    ? explain(pf, nodes, spec.index.candidates(fn.selector), spec.usage)
    : { desired: fn.mode === 'Every' ? nodes.length : pf.replicas, reason: undefined };
  let wakeAt: number | undefined;
  let offline = false;
  if (fn.mode === 'Replicas') {
    for (const name of nodes) {
      const node = spec.nodes.get(name);
      if (node === undefined || node.online) continue;
      offline = true;
      if (node.offlineSince !== undefined) {
        const at = node.offlineSince + spec.options.replicaGracePeriodMs;
        wakeAt = wakeAt === undefined ? at : Math.min(wakeAt, at);
      }
    }
  }
  const placement: FunctionPlacement = {
    key: fn.key,
    nodes,
    desired,
    ...(reason === undefined ? {} : { reason }),
  };
  return { placement, watch: reason !== undefined || offline, ...(wakeAt === undefined ? {} : { wakeAt }) };
}

/**
 * For a short function looked at on a few nodes only: when its nodes are unchanged and no node its
 * selector matches changed or changed usage, the census in explain() would count exactly what it
 * counted last time, so the previous placement (and its reason) still holds. This keeps an
 * incremental run from re-counting every short function over its whole site.
 */
function unchangedShort(
  spec: RunSpec,
  fn: SchedulableFunction,
  nodes: readonly string[],
  usageChanged: ReadonlySet<string>,
): FunctionPlacement | undefined {
  const before = spec.previousResult?.placements.get(fn.key);
  if (before === undefined || before.nodes.length !== nodes.length) return undefined;
  if (before.nodes.some((name, i) => nodes[i] !== name)) return undefined;
  const pf = prepareFunction(fn);
  const relevant = (node: SchedulableNode | undefined) => node !== undefined && pf.matches(node.labels);
  for (const name of spec.changedNodes) {
    if (relevant(spec.previousResult?.nodes.get(name)) || relevant(spec.nodes.get(name))) return undefined;
  }
  for (const name of usageChanged) if (relevant(spec.nodes.get(name))) return undefined;
  return before;
}

export function run(spec: RunSpec): RunOutput {
  const removals: Removal[] = [];
  const ctx: KeepContext = {
    nodes: spec.nodes,
    now: spec.now,
    graceMs: spec.options.replicaGracePeriodMs,
    removals,
  };
  const touched = new Set<string>();
  const kept = keepPhase(spec, ctx, touched);
  admissionPhase(spec, kept, touched, removals);
  const freed = spec.usage.freed();

  // Placing in key order needs every kept list first; explanations need every placement first.
  const order = [...spec.work.keys()].filter((key) => spec.functions.has(key)).sort(compareStrings);
  const placed = new Map<string, { nodes: string[]; blocked: boolean }>();
  for (const key of order) {
    const fn = spec.functions.get(key);
    if (fn === undefined) continue;
    const pf = prepareFunction(fn);
    const list = kept.get(key) ?? [];
    const scope = spec.work.get(key) ?? 'all';
    if (pf.error !== undefined) {
      placed.set(key, { nodes: list, blocked: false });
    } else if (fn.mode === 'Every') {
      const candidates =
        scope === 'all' ? spec.index.candidates(fn.selector) : candidatesIn(spec, scope, freed);
      const { added, blocked } = placeEvery(pf, list, candidates, spec.usage);
      placed.set(key, { nodes: [...list, ...added], blocked });
    } else {
      const added = placeReplicas(pf, list, spec.index.candidates(fn.selector), spec.nodes, spec.usage);
      placed.set(key, { nodes: [...list, ...added], blocked: false });
    }
  }
  const outcomes = new Map<string, FunctionOutcome>();
  const usageChanged = spec.previousResult === undefined ? new Set<string>() : spec.usage.changed();
  for (const [key, { nodes, blocked }] of placed) {
    const fn = spec.functions.get(key);
    if (fn === undefined) continue;
    const scope = spec.work.get(key);
    const wasShort = scope !== undefined && scope !== 'all' && scope.freed;
    nodes.sort(compareStrings);
    const same = wasShort ? unchangedShort(spec, fn, nodes, usageChanged) : undefined;
    outcomes.set(
      key,
      same !== undefined ? { placement: same, watch: true } : outcome(spec, fn, nodes, blocked, wasShort),
    );
  }
  return { outcomes, removals };
}
