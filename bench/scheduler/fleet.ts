// SPDX-License-Identifier: Apache-2.0
// A synthetic but plausible fleet for the scheduler benchmark, generated from a fixed seed so
// every run (and every machine) schedules the same problem.
import type { SchedulableFunction, SchedulableNode, Taint } from '../../operator/src/scheduler/index.ts';

const MiB = 1024 * 1024;
const SENSORS = ['temperature', 'humidity', 'vibration', 'co2', 'pressure', 'camera'];
export const SITES = 20;
const ZONES_PER_SITE = 5;

/** mulberry32: tiny, fast, good enough for test data. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(rnd: () => number, xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;

export function makeNode(rnd: () => number, i: number, now: number): SchedulableNode {
  const site = `plant-${(i % SITES) + 1}`;
  const online = rnd() > 0.05;
  const taints: Taint[] = rnd() < 0.05 ? [{ key: 'dedicated', value: 'vision', effect: 'NoSchedule' }] : [];
  return {
    name: `edge-${String(i).padStart(5, '0')}`,
    labels: {
      site,
      zone: `${site}-z${Math.floor(rnd() * ZONES_PER_SITE) + 1}`,
      arch: rnd() < 0.7 ? 'arm64' : 'amd64',
      tier: pick(rnd, ['line', 'cell', 'gateway']),
    },
    sensors: SENSORS.filter(() => rnd() < 0.5),
    online,
    ...(online ? {} : { offlineSince: now - Math.floor(rnd() * 20 * 60_000) }),
    unschedulable: rnd() < 0.01,
    taints,
    capacity: { functions: 8 + Math.floor(rnd() * 24), memoryBytes: (64 + Math.floor(rnd() * 192)) * MiB },
  };
}

/** 30% Every (one site, a sensor), 70% Replicas of 1–5 spread over zones of one site. */
export function makeFunction(rnd: () => number, i: number): SchedulableFunction {
  const site = `plant-${Math.floor(rnd() * SITES) + 1}`;
  const every = rnd() < 0.3;
  return {
    key: `ns-${i % 50}/fn-${i}`,
    selector: {
      matchLabels: { site },
      ...(rnd() < 0.3
        ? { matchExpressions: [{ key: 'tier', operator: 'NotIn' as const, values: ['gateway'] }] }
        : {}),
    },
    sensors: [pick(rnd, SENSORS)],
    mode: every ? 'Every' : 'Replicas',
    ...(every ? {} : { replicas: 1 + Math.floor(rnd() * 5), spread: { topologyKey: 'zone' } }),
    tolerations: rnd() < 0.1 ? [{ key: 'dedicated', operator: 'Exists' }] : [],
    memoryBytes: (1 + Math.floor(rnd() * 16)) * MiB,
  };
}

export function makeFleet(functions: number, nodes: number, now: number, seed = 42) {
  const rnd = random(seed);
  return {
    nodes: Array.from({ length: nodes }, (_, i) => makeNode(rnd, i, now)),
    functions: Array.from({ length: functions }, (_, i) => makeFunction(rnd, i)),
  };
}
