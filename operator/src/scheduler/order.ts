// SPDX-License-Identifier: Apache-2.0
// Deterministic ordering helpers. Ties are broken by a hash of (function, node) rather than by
// input order, so shuffling the input never changes a decision, and different functions prefer
// different nodes (rendezvous hashing) instead of all piling onto the alphabetically first one.

/** Plain code-unit order: locale-independent, unlike localeCompare. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** FNV-1a over UTF-16 code units, finished with murmur3's fmix32 so near-identical names spread out. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The preference of `fn` for `node`: lower is preferred. */
export function affinity(fn: string, node: string): number {
  return hash32(`${fn}\u0000${node}`);
}

/** Binary search in a sorted array of names. */
export function sortedIncludes(sorted: readonly string[], name: string): boolean {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = sorted[mid];
    if (v === undefined) return false;
    if (v === name) return true;
    if (v < name) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  if (h > 0) return `${h}h${m > 0 ? `${m}m` : ''}`;
  if (m > 0) return `${m}m${rest > 0 ? `${rest}s` : ''}`;
  return `${rest}s`;
}
