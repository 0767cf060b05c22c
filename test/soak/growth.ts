// SPDX-License-Identifier: Apache-2.0
// Pure arithmetic of the soak: per-window floors, the least-squares slope through them, and the
// verdict against a bound. Floors, not raw samples, because a garbage-collected heap (and the RSS
// that follows it) is a sawtooth: its peaks depend on when the collector last ran, its troughs on
// what is still alive. A leak lifts the troughs; noise moves the peaks.

export interface Point {
  /** Milliseconds (any origin). */
  readonly t: number;
  readonly v: number;
}

const HOUR_MS = 3_600_000;

/** The lowest sample of each window of `windowMs`, placed at that sample's time. */
export function windowFloors(points: readonly Point[], windowMs: number): Point[] {
  if (points.length === 0) return [];
  const origin = points[0]?.t ?? 0;
  const floors = new Map<number, Point>();
  for (const p of points) {
    const w = Math.floor((p.t - origin) / windowMs);
    const best = floors.get(w);
    if (!best || p.v < best.v) floors.set(w, p);
  }
  return [...floors.entries()].sort(([a], [b]) => a - b).map(([, p]) => p);
}

/** Ordinary least-squares slope of v over t, per hour; 0 for fewer than two distinct times. */
export function slopePerHour(points: readonly Point[]): number {
  const n = points.length;
  if (n < 2) return 0;
  const meanT = points.reduce((s, p) => s + p.t, 0) / n;
  const meanV = points.reduce((s, p) => s + p.v, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.t - meanT) * (p.v - meanV);
    den += (p.t - meanT) ** 2;
  }
  return den === 0 ? 0 : (num / den) * HOUR_MS;
}

export interface Growth {
  /** Floor of the first window after the warm-up. */
  readonly start: number;
  /** Floor of the last window. */
  readonly end: number;
  readonly perHour: number;
  /** Windows the fit used. */
  readonly windows: number;
}

/** Growth of one series after `warmupMs` (from its first sample), fitted on window floors. */
export function growth(points: readonly Point[], warmupMs: number, windowMs: number): Growth {
  const first = points[0]?.t ?? 0;
  const floors = windowFloors(
    points.filter((p) => p.t - first >= warmupMs),
    windowMs,
  );
  return {
    start: floors[0]?.v ?? Number.NaN,
    end: floors.at(-1)?.v ?? Number.NaN,
    perHour: slopePerHour(floors),
    windows: floors.length,
  };
}
