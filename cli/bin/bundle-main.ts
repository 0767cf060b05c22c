// SPDX-License-Identifier: Apache-2.0
// The entry of the CLI's bundle (cli/scripts/build.ts): oclif, rooted at the bundle's directory,
// whose package.json lists one file per command and whose oclif.manifest.json holds every
// command's flags and help, so a call loads only the command it runs (docs/adr/0027).
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Config, execute } from '@oclif/core';

export async function main(root: string): Promise<void> {
  await execute({ loadOptions: { root } });
}

/** At build time: loads every command of the bundle once and writes oclif's manifest of them. */
export async function writeManifest(root: string): Promise<number> {
  const config = await Config.load({ root, ignoreManifest: true });
  // The loaded root plugin (oclif's Plugin class) holds the manifest it made by loading every command.
  const plugin = config.getPluginsList().find((p) => p.isRoot) as
    { manifest?: { commands: Record<string, unknown> } } | undefined;
  if (!plugin?.manifest) throw new Error(`oclif found no root plugin in ${root}`);
  await writeFile(path.join(root, 'oclif.manifest.json'), JSON.stringify(plugin.manifest));
  return Object.keys(plugin.manifest.commands).length;
}
