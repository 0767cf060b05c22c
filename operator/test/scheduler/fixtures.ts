// SPDX-License-Identifier: Apache-2.0
// Builders for scheduler tests: terse defaults so each test states only what it is about.
import type {
  FunctionPlacement,
  SchedulableFunction,
  SchedulableNode,
  ScheduleResult,
} from '../../src/scheduler/index.ts';

export const MiB = 1024 * 1024;
export const T0 = Date.UTC(2025, 0, 1);

export function fn(key: string, over: Partial<SchedulableFunction> = {}): SchedulableFunction {
  return { key, selector: {}, sensors: [], mode: 'Every', tolerations: [], memoryBytes: MiB, ...over };
}

export function replicas(
  key: string,
  count: number,
  over: Partial<SchedulableFunction> = {},
): SchedulableFunction {
  return fn(key, { mode: 'Replicas', replicas: count, ...over });
}

export function node(name: string, over: Partial<SchedulableNode> = {}): SchedulableNode {
  return {
    name,
    labels: {},
    sensors: [],
    online: true,
    unschedulable: false,
    taints: [],
    capacity: { functions: 100, memoryBytes: 1024 * MiB },
    ...over,
  };
}

/** Function key → assigned nodes, the shape most assertions want. */
export function assigned(result: ScheduleResult): Record<string, readonly string[]> {
  return Object.fromEntries([...result.placements].map(([key, p]) => [key, p.nodes]));
}

export function placementOf(result: ScheduleResult, key: string): FunctionPlacement {
  const p = result.placements.get(key);
  if (p === undefined) throw new Error(`no placement for ${key}`);
  return p;
}

/** The current placement a result implies, as the next run's input. */
export function currentOf(result: ScheduleResult): Map<string, readonly string[]> {
  return new Map([...result.placements].map(([key, p]) => [key, p.nodes]));
}
