// SPDX-License-Identifier: Apache-2.0
// How much to fuzz and with which seed. CI runs a short budget with a fresh seed every time (the
// seed is printed when a property fails, with the command that replays it); the long run on
// demand multiplies every target's budget:
//
//   WASMFLEET_FUZZ_RUNS=50 npm test -- 'test/fuzz/*.test.ts'   # or: npm run fuzz:long
//   WASMFLEET_FUZZ_SEED=123456 npm test -- 'test/fuzz/wasm-modules.test.ts'   # replay one seed
import fc from 'fast-check';

function positiveNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0)
    throw new Error(`${name}=${raw} is not a positive number; unset it or pass e.g. ${name}=20`);
  return value;
}

/** Multiplies every target's CI budget (1 in CI; `npm run fuzz:long` sets it). */
export const FUZZ_SCALE = positiveNumber('WASMFLEET_FUZZ_RUNS', 1);

/** One seed for the whole file, fresh unless WASMFLEET_FUZZ_SEED pins it. */
export const FUZZ_SEED = Math.trunc(positiveNumber('WASMFLEET_FUZZ_SEED', Date.now() % 2_147_483_647));

/** Seeds every CI run replays in addition to the fresh one (the fixed-seed regression set). */
export const REGRESSION_SEEDS = [1, 42, 20261124] as const;

/** The CI run count of a target scaled for the long run. */
export function runs(ciRuns: number): number {
  return Math.max(1, Math.round(ciRuns * FUZZ_SCALE));
}

/**
 * fc.assert with the file's seed; on failure the error names the seed, the shrunk counterexample
 * and the command that replays it.
 */
export async function check<Ts extends [unknown, ...unknown[]]>(
  target: string,
  property: fc.IAsyncPropertyWithHooks<Ts> | fc.IPropertyWithHooks<Ts>,
  params: { numRuns: number; seed?: number; endOnFailure?: boolean },
): Promise<void> {
  const seed = params.seed ?? FUZZ_SEED;
  try {
    await fc.assert(property, { numRuns: params.numRuns, seed, endOnFailure: params.endOnFailure ?? false });
  } catch (error) {
    throw new Error(
      `fuzz target "${target}" failed with seed ${seed}; replay: WASMFLEET_FUZZ_SEED=${seed} npm test -- '${process.argv[1] ?? 'test/fuzz/*.test.ts'}'\n${(error as Error).message}`,
      { cause: error },
    );
  }
}
