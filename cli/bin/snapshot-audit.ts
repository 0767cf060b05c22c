// SPDX-License-Identifier: Apache-2.0
// While the CLI's startup snapshot is built (docs/adr/0040): records what the bundled modules read
// from the environment and the standard streams as they load. A value read then would be kept in
// the snapshot and seen by every later call (a colour level, a terminal width, DEBUG), and a
// listener added to the build's stdout is lost, so the build fails and names the module; the fix
// is to load that module lazily (LAZY_FILES in cli/scripts/snapshot.ts). Imported first by
// snapshot-main.ts, so it sees them all.
import { readFileSync } from 'node:fs';
import v8 from 'node:v8';

/**
 * Reads that are harmless to keep, or undone at run time: the snapshot's build id (kept on
 * purpose); oclif's Node-version check, which only warns at that moment; semver's own tracing
 * (NODE_DEBUG=semver: it builds, and traces, its regular expressions as it loads, so it cannot
 * load later; kept off); minimatch's switch for its own tests; oclif's command.js adding its
 * EPIPE handler to stdout (snapshot-main.ts adds it again to the call's stdout).
 */
const ALLOWED = new Set([
  'process.env.WASMFLEET_CLI_SNAPSHOT_BUILD',
  'process.env.OCLIF_DISABLE_ENGINE_WARNING',
  'process.env.NODE_DEBUG',
  'process.env.__MINIMATCH_TESTING_PLATFORM__',
  'process.stdout',
]);
const reads: { what: string; at: string }[] = [];
const restore: (() => void)[] = [];

/** `file:line:column` of the code that made the read (the frame below the trap). */
function caller(): string {
  const frame = (new Error().stack ?? '').split('\n')[3] ?? '';
  return /\(?([^()\s]+:\d+:\d+)\)?$/.exec(frame.trim())?.[1] ?? frame.trim();
}

if (v8.startupSnapshot.isBuildingSnapshot()) {
  const env = process.env;
  process.env = new Proxy(env, {
    get(target, key) {
      if (typeof key === 'string') reads.push({ what: `process.env.${key}`, at: caller() });
      return Reflect.get(target, key) as string | undefined;
    },
    has(target, key) {
      if (typeof key === 'string') reads.push({ what: `'${key}' in process.env`, at: caller() });
      return Reflect.has(target, key);
    },
    ownKeys(target) {
      reads.push({ what: 'the keys of process.env', at: caller() });
      return Reflect.ownKeys(target);
    },
  });
  restore.push(() => (process.env = env));
  for (const stream of ['stdin', 'stdout', 'stderr'] as const) {
    const own = Object.getOwnPropertyDescriptor(process, stream);
    const original: unknown = own ? Reflect.get(own, 'get') : undefined;
    if (!own?.configurable || typeof original !== 'function') continue;
    Object.defineProperty(process, stream, {
      ...own,
      get(): unknown {
        reads.push({ what: `process.${stream}`, at: caller() });
        return Reflect.apply(original, process, []) as unknown;
      },
    });
    restore.push(() => Object.defineProperty(process, stream, own));
  }
}

/** The module a line of the bundled script belongs to (rolldown marks each with a `// path` line). */
function moduleAt(at: string): string {
  const [, file, line] = /^(.*):(\d+):\d+$/.exec(at) ?? [];
  if (file === undefined || line === undefined) return at;
  const lines = readFileSync(file, 'utf8').split('\n').slice(0, Number(line));
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = /^\/\/ ((?:node_modules|cli|api|local-stack|agent|operator)\/\S+\.[cm]?[jt]s)$/.exec(
      lines[i] ?? '',
    );
    if (m?.[1] !== undefined) return m[1];
  }
  return at;
}

/** Puts process.env and the streams back; throws when a module read them while it loaded. */
export function checkLoadTimeReads(): void {
  for (const undo of restore.splice(0)) undo();
  const found = new Set<string>();
  for (const { what, at } of reads) if (!ALLOWED.has(what)) found.add(`${what} in ${moduleAt(at)}`);
  if (found.size === 0) return;
  throw new Error(
    `these modules read the environment while they load, so the snapshot would keep the build's values; load them lazily (LAZY_FILES in cli/scripts/snapshot.ts):\n  ${[...found].join('\n  ')}`,
  );
}
