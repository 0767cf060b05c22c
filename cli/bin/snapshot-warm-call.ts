// SPDX-License-Identifier: Apache-2.0
// The second half of the snapshot's warm-up (docs/adr/0058): the code every reading call runs
// before its first request — oclif's Config.load, its hook and command look-up, the flag parser
// on each command the snapshot holds, and the kubeconfig — run once while the snapshot is built,
// so that V8 keeps their bytecode. Without it a call compiled ~220 of the script's functions
// (`--log-function-events`: parse and bytecode ~5-7 ms of a `get`'s main-thread CPU).
// What they read (HOME, SHELL, the theme, oclif's settings) is dropped: the Config made here is
// thrown away, oclif's global settings and logger are put back as they were, and a call makes its
// own Config as before. The lazy modules (terminal, colours, https) still refuse to load while
// this runs (snapshot-warm-up.ts, WARMING), so a warm-up that reached one fails the build.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Config, Performance, type Command, type Plugin } from '@oclif/core';
import { normalizeArgv } from '@oclif/core/help';
import { clearLoggers } from '@oclif/core/logger';
import { settings } from '@oclif/core/settings';
import { loadKubeTarget } from '../src/kube/kubeconfig.ts';
import { SAMPLE_KUBECONFIG, SILENT_LOGGER, WARMING } from './snapshot-warm-up.ts';

/** A command class as oclif's `Config.runCommand` builds it: `new C(argv, config)`. */
type CommandClass = new (argv: string[], config: Config) => Command;
/** `Command.parse` is protected; the warm-up calls it as a command's `run` does. */
interface Parsing {
  parse(options: CommandClass, argv: string[]): Promise<unknown>;
}

/** Typical argv of each command the snapshot holds (after the command's id). */
export interface WarmCall {
  readonly id: string;
  readonly command: CommandClass;
  readonly argv: string[];
}

export async function warmUpCallPath(plugin: Plugin, calls: readonly WarmCall[]): Promise<void> {
  const before = { ...settings };
  Reflect.set(globalThis, WARMING, true);
  try {
    const config = await Config.load({
      root: plugin.root,
      plugins: new Map([[plugin.name, plugin]]),
      logger: SILENT_LOGGER,
    });
    for (const { id, command, argv } of calls) {
      normalizeArgv(config, [...id.split(':'), ...argv]);
      await config.runHook('init', { argv, id });
      config.findCommand(id);
      const instance = new command(argv, config) as unknown as Parsing;
      await instance.parse(command, argv);
    }
    warmKubeconfig();
    // What oclif's `run` does after every command: nothing unless OCLIF_PERFORMANCE, but compiled.
    await Performance.collect();
    Performance.debug();
  } finally {
    // oclif's settings object is global (globalThis.oclif): exactly what it was before.
    for (const key of Object.keys(settings)) if (!(key in before)) Reflect.deleteProperty(settings, key);
    Object.assign(settings, before);
    clearLoggers();
    Reflect.deleteProperty(globalThis, WARMING);
  }
}

/** Reads the sample kubeconfig as a call reads the user's (from a file named by --kubeconfig). */
function warmKubeconfig(): void {
  const dir = mkdtempSync(path.join(tmpdir(), 'wasmfleet-snapshot-'));
  try {
    const file = path.join(dir, 'kubeconfig');
    writeFileSync(file, SAMPLE_KUBECONFIG);
    loadKubeTarget({ kubeconfig: file, namespace: undefined, context: undefined });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
