// SPDX-License-Identifier: Apache-2.0
// Knobs of the fault suites: the short (CI) tier by default, the long tier with WASMFLEET_LONG=1
// (`npm run faults:control-plane:long`), and a printed, overridable seed for random schedules.
import { randomInt } from 'node:crypto';

export const LONG = process.env.WASMFLEET_LONG === '1';

/** The seed for this run: WASMFLEET_FAULT_SEED if set, else a fresh one (printed, to replay). */
export function faultSeed(suite: string): number {
  const given = process.env.WASMFLEET_FAULT_SEED;
  const seed = given === undefined || given === '' ? randomInt(2 ** 31) : Number(given);
  if (!Number.isInteger(seed) || seed < 0) {
    throw new Error(`WASMFLEET_FAULT_SEED=${given ?? ''} must be a non-negative integer`);
  }
  console.error(`[${suite}] seed ${seed} (replay with WASMFLEET_FAULT_SEED=${seed})`);
  return seed;
}

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
