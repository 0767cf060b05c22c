// SPDX-License-Identifier: Apache-2.0
// The CLI's V8 startup snapshot (docs/adr/0040). cli/scripts/snapshot.ts bundles this file with
// oclif and the commands that only read (get, describe, rollout status, help) into one CommonJS
// script, and `node --build-snapshot` runs its top level once and saves the heap. A call started
// with `node --snapshot-blob` begins from that heap, every module already evaluated, and runs
// main(). Every other command, and a build that is no longer current, is handed to the launcher
// (cli/bin/wasmfleet.js) with process.execve: the same process with the same arguments.
// First: it watches what the modules below read from the environment while they load.
import { checkLoadTimeReads } from './snapshot-audit.ts';
import path from 'node:path';
import v8 from 'node:v8';
import { execute, ModuleLoader, type Plugin } from '@oclif/core';
import Describe from '../src/commands/describe.ts';
import Get from '../src/commands/get.ts';
import Help from '../src/commands/help.ts';
import RolloutStatus from '../src/commands/rollout/status.ts';
import commandNotFound from '../src/hooks/command-not-found.ts';
import { renderWithoutEjs } from '../src/help-template.ts';
import { dedicateTlsToTheApiServer } from '../src/kube/ca-trust.ts';
import { CLI_ROOT, DIST_ROOT, currentBundle } from './bundle.js';
import { SILENT_LOGGER, buildDirOf, loadRootPlugin, warmUp } from './snapshot-warm-up.ts';
import { type WarmCall, warmUpCallPath } from './snapshot-warm-call.ts';

/** The commands the snapshot holds, by oclif id. */
const COMMANDS: Record<string, unknown> = {
  get: Get,
  describe: Describe,
  'rollout:status': RolloutStatus,
  help: Help,
};
const HOOKS: Record<string, unknown> = { command_not_found: commandNotFound };
// oclif's help `render`, rewritten in the snapshot (cli/scripts/snapshot.ts), asks this first.
Reflect.set(globalThis, Symbol.for('wasmfleet.cli.renderHelpText'), renderWithoutEjs);
/** What the warm-up parses: each command as the README and bench/cli call it. */
const WARM_CALLS: readonly WarmCall[] = [
  { id: 'get', command: Get, argv: ['functions', '-n', 'default', '-o', 'wide'] },
  { id: 'get', command: Get, argv: ['nodes'] },
  { id: 'describe', command: Describe, argv: ['function', 'temp-alert', '-n', 'default'] },
  { id: 'rollout:status', command: RolloutStatus, argv: ['temp-alert', '-n', 'default'] },
];
const LAUNCHER = path.join(CLI_ROOT, 'bin/wasmfleet.js');
/** The build this snapshot was made from (read while building: kept in the heap on purpose). */
const BUILD_ID = process.env.WASMFLEET_CLI_SNAPSHOT_BUILD ?? '';

let args: string[] = [];

interface Loaded {
  readonly filePath: string;
  readonly isESM: boolean;
  readonly module: unknown;
}
type LoadFromManifest = (cached: { id: string; relativePath?: string[] }, root: string) => Promise<Loaded>;
type LoadWithData = (plugin: unknown, modulePath: string) => Promise<Loaded>;
const loader = ModuleLoader as unknown as {
  loadWithDataFromManifest: LoadFromManifest;
  loadWithData: LoadWithData;
};

// oclif loads a command's file when it runs it, and a hook's when the event fires: the ones the
// snapshot holds are answered from the heap; any other command goes to the launcher, before it
// has printed anything.
loader.loadWithDataFromManifest = (cached, root) => {
  const command = COMMANDS[cached.id];
  if (command === undefined) handOver();
  return Promise.resolve({
    filePath: path.join(root, ...(cached.relativePath ?? [])),
    isESM: true,
    module: { default: command },
  });
};
const loadWithData = loader.loadWithData;
loader.loadWithData = (plugin, modulePath) => {
  const hook = HOOKS[path.basename(modulePath).replace(/\.js$/, '')];
  if (hook === undefined || path.basename(path.dirname(modulePath)) !== 'hooks')
    return loadWithData(plugin, modulePath);
  return Promise.resolve({ filePath: modulePath, isESM: true, module: { default: hook } });
};

/** Runs the launcher in this process's place; never returns. */
function handOver(): never {
  const env = { ...process.env, WASMFLEET_CLI_SNAPSHOT: 'off' };
  if (!process.execve) throw new Error(`this Node has no process.execve: run node ${LAUNCHER}`);
  process.execve(process.execPath, [process.execPath, LAUNCHER, ...args], env);
  throw new Error('process.execve returned');
}

// What the snapshot leaves out is imported as a call of this (cli/scripts/snapshot.ts, HANDED_OVER).
(globalThis as Record<symbol, unknown>)[Symbol.for('wasmfleet.cli.handOver')] = handOver;

function main(): void {
  args = process.argv.slice(1);
  if (process.env.WASMFLEET_CLI_SNAPSHOT === 'off') handOver();
  // As in the launcher: a non-empty NO_COLOR wins over FORCE_COLOR (no-color.org), settled
  // before a colour library loads (they load at first use here, cli/scripts/lazy-modules-plugin.ts).
  if ((process.env.NO_COLOR ?? '') !== '') delete process.env.FORCE_COLOR;
  // oclif's command.js swallows EPIPE on stdout (`wasmfleet get nodes | head -1`) from the
  // listener it adds when it loads; that was the build's stdout, so add it to this call's.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
  if (process.env.WASMFLEET_CLI_DEBUG)
    process.stderr.write(`wasmfleet: started from the startup snapshot of build ${BUILD_ID}\n`);
  // Every TLS connection of a call the snapshot runs goes to the API server (kube/ca-trust.ts).
  dedicateTlsToTheApiServer();
  if (readsTheCluster(args)) loadTlsEarly();
  const dir = currentBundle();
  if (dir === undefined || path.basename(dir) !== BUILD_ID) handOver();
  // oclif's root plugin as the build loaded it (snapshot-warm-up.ts): no package.json or manifest to read.
  const plugins = rootPlugin?.root === dir ? new Map([[rootPlugin.name, rootPlugin]]) : undefined;
  // oclif's own logger loads `debug` from disk (~3 ms) to print nothing unless DEBUG is set.
  const logger = (process.env.DEBUG ?? '') === '' ? { logger: SILENT_LOGGER } : {};
  void execute({ args, loadOptions: { root: dir, ...(plugins ? { plugins } : {}), ...logger } });
}

/** Whether the call will talk to the API server: get, describe or rollout status, not their help. */
function readsTheCluster(argv: readonly string[]): boolean {
  const [word, next] = argv;
  const reads = word === 'get' || word === 'describe' || (word === 'rollout' && next === 'status');
  return reads && !argv.some((a) => a === '--help' || a === '-h' || a === '--');
}

/**
 * Loads https (and tls) now rather than at the first request. Loading tls starts Node's
 * certificate thread, which parses the ~140 bundled root certificates: a kubeconfig without a CA
 * (a cluster with a publicly trusted certificate) needs them for its first TLS context, and
 * started here they are parsed on the other core while oclif and the kubeconfig are read instead
 * of while the request waits. Node cannot keep https in the snapshot itself.
 */
function loadTlsEarly(): void {
  process.getBuiltinModule('node:https');
}

checkLoadTimeReads();
/** Loaded while the snapshot is built; the build waits for it (Node drains the event loop first). */
let rootPlugin: Plugin | undefined;
const from = buildDirOf(process.env);
if (from !== undefined && BUILD_ID !== '') {
  void loadRootPlugin(from, path.join(DIST_ROOT, BUILD_ID)).then(async (plugin) => {
    rootPlugin = plugin;
    // After it: Config.load, the parser and the kubeconfig, run once (snapshot-warm-call.ts).
    await warmUpCallPath(plugin, WARM_CALLS);
  });
}
warmUp();
v8.startupSnapshot.setDeserializeMainFunction(main);
