// SPDX-License-Identifier: Apache-2.0
// How long each test file took, and how the full run lays the files out. Node's test runner
// starts files in the order it is given, N at a time; sorted by name, the 10-minute soak started
// near the end and ran alone while the other lane sat idle (CI 2026-12-06: 1,309 s). Longest
// first (LPT scheduling) keeps both lanes busy to the end. The soak runs in a lane of its own
// beside them: its length is set by its settings, not by the machine, and in a shared lane it
// held one of the two for 615 of the run's 1,266 s (docs/adr/0037). Pure: the runner reads and
// writes the times file (docs/adr/0030).
/** Seconds each file took in earlier runs, by path relative to the repository. */
export type FileTimes = Record<string, number>;

/**
 * Files that run in a lane of their own, beside the shared lanes: long steady loads whose length
 * is set by their settings, not by the machine (the soak runs WASMFLEET_SOAK_MINUTES of cycles,
 * 10 by default), so running them beside the rest costs the rest little and the run 10 minutes.
 */
export const OWN_LANE_FILES: readonly string[] = ['test/soak/soak.test.ts'];

/** Which files get a lane of their own, and the rest longest first (see longestFirst). */
export function planLanes(
  files: readonly string[],
  times: FileTimes,
  ownLane: readonly string[] = OWN_LANE_FILES,
): { own: string[]; shared: string[] } {
  const own = files.filter((file) => ownLane.includes(file));
  const shared = files.filter((file) => !ownLane.includes(file));
  return { own, shared: longestFirst(shared, times) };
}

/**
 * Longest first by the times of earlier runs; files with no time at all keep their order after
 * them, and ties keep name order, so the order is stable.
 */
function longestFirst(files: readonly string[], times: FileTimes): string[] {
  const seconds = (file: string): number => times[file] ?? -1;
  return files
    .map((file, index) => ({ file, index, s: seconds(file) }))
    .sort((a, b) => b.s - a.s || a.index - b.index)
    .map((entry) => entry.file);
}

/** The times of this run over those of earlier ones (files not run this time keep theirs). */
export function mergeTimes(previous: FileTimes, current: FileTimes): FileTimes {
  return Object.fromEntries(
    Object.entries({ ...previous, ...current }).sort(([a], [b]) => a.localeCompare(b)),
  );
}

/** Reads a times file's text; anything unreadable counts as no times (the order is a hint). */
export function parseTimes(text: string | undefined): FileTimes {
  if (text === undefined) return {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return {};
    return Object.fromEntries(
      Object.entries(parsed).filter((entry): entry is [string, number] => typeof entry[1] === 'number'),
    );
  } catch {
    return {};
  }
}

/** What the runner tells of a finished test, as much of it as fileTime reads. */
export interface CompletedTest {
  file?: string;
  name: string;
  nesting: number;
  details: { duration_ms: number };
}

/**
 * A file's own time: the runner ends each file's process with a `test:complete` named after the
 * file (its path from run(), its base name from `node --test`), at nesting 0, timed over the
 * whole process. Any other test gives undefined.
 */
export function fileTime(test: CompletedTest): { file: string; seconds: number } | undefined {
  if (test.file === undefined || test.nesting !== 0) return undefined;
  const base = test.file.slice(test.file.lastIndexOf('/') + 1);
  if (test.name !== test.file && test.name !== base) return undefined;
  return { file: test.file, seconds: Number((test.details.duration_ms / 1000).toFixed(1)) };
}

/** The run's lines (`{"file":…,"seconds":…}`), by path relative to `root`. */
export function parseReport(jsonLines: string, root: string): FileTimes {
  const times: FileTimes = {};
  for (const line of jsonLines.split('\n')) {
    if (line.trim() === '') continue;
    const { file, seconds } = JSON.parse(line) as { file: string; seconds: number };
    times[relative(file, root)] = seconds;
  }
  return times;
}

/**
 * The slowest files and what the run added up to, for the log: how busy the shared lanes were
 * (files in lanes of their own, `own`, are counted apart).
 */
export function timesSummary(
  times: FileTimes,
  wallSeconds: number,
  lanes: number,
  own: readonly string[] = [],
  top = 10,
): string {
  const entries = Object.entries(times).sort(([, a], [, b]) => b - a);
  const total = (list: [string, number][]): number => list.reduce((sum, [, s]) => sum + s, 0);
  const ownSeconds = total(entries.filter(([file]) => own.includes(file)));
  const sharedSeconds = total(entries) - ownSeconds;
  const lines = entries.slice(0, top).map(([file, s]) => `  ${s.toFixed(0).padStart(5)} s  ${file}`);
  const busy = wallSeconds > 0 ? (sharedSeconds / (wallSeconds * lanes)) * 100 : 0;
  const apart = ownSeconds > 0 ? `, and ${ownSeconds.toFixed(0)} s in lanes of their own` : '';
  return [
    `slowest files (of ${entries.length}; ${total(entries).toFixed(0)} s of file time in ${wallSeconds.toFixed(0)} s ` +
      `over ${lanes} lanes, ${busy.toFixed(0)} % busy${apart}):`,
    ...lines,
  ].join('\n');
}

function relative(file: string, root: string): string {
  const prefix = root.endsWith('/') ? root : `${root}/`;
  return file.startsWith(prefix) ? file.slice(prefix.length) : file;
}
