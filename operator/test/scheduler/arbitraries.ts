// SPDX-License-Identifier: Apache-2.0
// fast-check generators for small fleets: few label values and sensors so that selectors,
// taints and capacity collide often, which is where scheduling bugs live.
import fc from 'fast-check';
import type {
  SchedulableFunction,
  SchedulableNode,
  SchedulerChanges,
  SelectorRequirement,
  Taint,
  Toleration,
} from '../../src/scheduler/index.ts';
import { MiB, T0 } from './fixtures.ts';

export const GRACE = 5 * 60_000;
const SENSORS = ['temp', 'hum', 'co2'];
const TAINTS: Taint[] = [
  { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' },
  { key: 'maint', effect: 'NoExecute' },
];
const TOLERATIONS: Toleration[] = [
  { key: 'dedicated', operator: 'Exists' },
  { key: 'maint', effect: 'NoExecute' },
  { operator: 'Exists' },
];
const EXPRESSIONS: SelectorRequirement[] = [
  { key: 'zone', operator: 'In', values: ['z1', 'z2'] },
  { key: 'tier', operator: 'NotIn', values: ['a'] },
  { key: 'tier', operator: 'Exists' },
  { key: 'tier', operator: 'DoesNotExist' },
];

const subset = <T>(items: readonly T[]) => fc.subarray([...items]);

export const nodeBody = fc.record({
  zone: fc.constantFrom('z1', 'z2', 'z3'),
  site: fc.constantFrom('p1', 'p2'),
  tier: fc.option(fc.constantFrom('a', 'b'), { nil: undefined }),
  sensors: subset(SENSORS),
  online: fc.boolean(),
  offlineFor: fc.option(fc.integer({ min: 0, max: 2 * GRACE }), { nil: undefined }),
  unschedulable: fc.boolean(),
  taints: subset(TAINTS),
  functions: fc.integer({ min: 0, max: 4 }),
  memoryMiB: fc.integer({ min: 0, max: 48 }),
});
export type NodeBody = typeof nodeBody extends fc.Arbitrary<infer T> ? T : never;

export function makeNode(name: string, b: NodeBody, now: number = T0): SchedulableNode {
  return {
    name,
    labels: { zone: b.zone, site: b.site, ...(b.tier === undefined ? {} : { tier: b.tier }) },
    sensors: b.sensors,
    online: b.online,
    ...(b.online || b.offlineFor === undefined ? {} : { offlineSince: now - b.offlineFor }),
    unschedulable: b.unschedulable,
    taints: b.taints,
    capacity: { functions: b.functions, memoryBytes: b.memoryMiB * MiB },
  };
}

export const functionBody = fc.record({
  site: fc.option(fc.constantFrom('p1', 'p2'), { nil: undefined }),
  expressions: fc.subarray(EXPRESSIONS, { maxLength: 1 }),
  sensors: subset(SENSORS).map((s) => s.slice(0, 2)),
  mode: fc.constantFrom('Every' as const, 'Replicas' as const),
  replicas: fc.integer({ min: 0, max: 4 }),
  spread: fc.boolean(),
  tolerations: subset(TOLERATIONS),
  memoryMiB: fc.integer({ min: 0, max: 16 }),
});
export type FunctionBody = typeof functionBody extends fc.Arbitrary<infer T> ? T : never;

export function makeFunction(key: string, b: FunctionBody): SchedulableFunction {
  return {
    key,
    selector: {
      ...(b.site === undefined ? {} : { matchLabels: { site: b.site } }),
      matchExpressions: b.expressions,
    },
    sensors: b.sensors,
    mode: b.mode,
    ...(b.mode === 'Replicas' ? { replicas: b.replicas } : {}),
    ...(b.spread ? { spread: { topologyKey: 'zone' } } : {}),
    tolerations: b.tolerations,
    memoryBytes: b.memoryMiB * MiB,
  };
}

export interface Scenario {
  readonly functions: SchedulableFunction[];
  readonly nodes: SchedulableNode[];
  readonly current: Map<string, readonly string[]>;
}

/** A fleet with an arbitrary (possibly invalid, over-capacity) current placement. */
export const scenario: fc.Arbitrary<Scenario> = fc
  .record({
    nodes: fc.array(nodeBody, { maxLength: 9 }),
    functions: fc.array(functionBody, { maxLength: 7 }),
    picks: fc.array(fc.array(fc.integer({ min: 0, max: 9 }), { maxLength: 4 }), { maxLength: 7 }),
  })
  .map(({ nodes, functions, picks }) => {
    const ns = nodes.map((b, i) => makeNode(`n${i}`, b));
    const fs = functions.map((b, i) => makeFunction(`ns/f${i}`, b));
    const current = new Map<string, readonly string[]>();
    fs.forEach((f, i) => {
      // Index 9 names a node that does not exist.
      const names = (picks[i] ?? [])
        .map((p) => (p === 9 ? 'ghost' : `n${p}`))
        .filter((n) => n === 'ghost' || ns.some((x) => x.name === n));
      if (names.length > 0) current.set(f.key, names);
    });
    return { functions: fs, nodes: ns, current };
  });

/** One change, expressed against indices so it can be generated before the fleet is known. */
export type Change =
  | { kind: 'upsertNode'; index: number; body: NodeBody }
  | { kind: 'removeNode'; index: number }
  | { kind: 'upsertFunction'; index: number; body: FunctionBody }
  | { kind: 'removeFunction'; index: number }
  | { kind: 'tick'; ms: number };

export const change: fc.Arbitrary<Change> = fc.oneof(
  fc.record({ kind: fc.constant('upsertNode' as const), index: fc.nat(9), body: nodeBody }),
  fc.record({ kind: fc.constant('removeNode' as const), index: fc.nat(9) }),
  fc.record({ kind: fc.constant('upsertFunction' as const), index: fc.nat(8), body: functionBody }),
  fc.record({ kind: fc.constant('removeFunction' as const), index: fc.nat(8) }),
  fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 2 * GRACE }) }),
);

export function toChanges(c: Change, now: number): SchedulerChanges {
  switch (c.kind) {
    case 'upsertNode':
      return { upsertNodes: [makeNode(`n${c.index}`, c.body, now)] };
    case 'removeNode':
      return { removeNodes: [`n${c.index}`] };
    case 'upsertFunction':
      return { upsertFunctions: [makeFunction(`ns/f${c.index}`, c.body)] };
    case 'removeFunction':
      return { removeFunctions: [`ns/f${c.index}`] };
    case 'tick':
      return { now: now + c.ms };
  }
}
