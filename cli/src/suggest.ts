// SPDX-License-Identifier: Apache-2.0
// "Did you mean …?": the known words closest to a mistyped one, as kubectl and git suggest them.
import { distance } from 'fastest-levenshtein';

/** Candidates within a few edits of `typed` (a third of its length, at least 2), closest first. */
export function closest(typed: string, candidates: Iterable<string>, limit = 3): string[] {
  const allowed = Math.max(2, Math.floor(typed.length / 3));
  return [...new Set(candidates)]
    .map((c) => ({ c, d: distance(typed.toLowerCase(), c.toLowerCase()) }))
    .filter(({ c, d }) => d <= allowed || c.startsWith(typed))
    .sort((a, b) => a.d - b.d || a.c.localeCompare(b.c))
    .slice(0, limit)
    .map(({ c }) => c);
}

/**
 * For the words typed where no command exists (oclif joins every argument into the id: `gte
 * nodes` is "gte:nodes"): the command the user meant to name, and the closest that exist.
 */
export function commandSuggestions(
  words: readonly string[],
  ids: readonly string[],
): { unknown: string; suggestions: string[] } {
  const known = ids.map((id) => id.split(':'));
  const topics = new Set(known.filter((k) => k.length > 1).map((k) => k[0] ?? ''));
  const [first = '', second] = words;
  if (topics.has(first) && second !== undefined) {
    const subcommands = known.filter((k) => k[0] === first && k.length === 2).map((k) => k[1] ?? '');
    return {
      unknown: `${first} ${second}`,
      suggestions: closest(second, subcommands).map((s) => `${first} ${s}`),
    };
  }
  const topLevel = [...known.filter((k) => k.length === 1).map((k) => k[0] ?? ''), ...topics];
  return { unknown: first, suggestions: closest(first, topLevel) };
}
