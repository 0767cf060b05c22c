// SPDX-License-Identifier: Apache-2.0
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Args, type Command } from '@oclif/core';
import { WasmfleetCommand } from '../base-command.ts';
import { UserError } from '../errors.ts';

const SHELLS = ['bash', 'zsh', 'powershell'] as const;
type Shell = (typeof SHELLS)[number];

export default class Completion extends WasmfleetCommand<typeof Completion> {
  static override summary = 'Print a shell completion script for bash, zsh or PowerShell.';
  static override description =
    "The script is generated (by @oclif/plugin-autocomplete's generator) from the commands and flags of this version. Load it in your shell profile (see examples).";
  static override examples = [
    'source <(<%= config.bin %> completion bash)          # in ~/.bashrc',
    'source <(<%= config.bin %> completion zsh)           # in ~/.zshrc, after compinit',
    '<%= config.bin %> completion powershell | Out-String | Invoke-Expression',
  ];
  static override args = {
    shell: Args.string({ required: true, options: [...SHELLS], description: 'bash, zsh or powershell' }),
  };

  public async run(): Promise<void> {
    const { args } = await this.parse(Completion);
    const shell = args.shell as Shell;
    // The generator writes its completion functions into the cache directory; print the one asked for.
    const Create = await autocompleteGenerator();
    await new Create([], this.config).run();
    const dir = path.join(this.config.cacheDir, 'autocomplete', 'functions');
    const bin = this.config.bin;
    const file = {
      bash: path.join(dir, 'bash', `${bin}.bash`),
      zsh: path.join(dir, 'zsh', `_${bin}`),
      powershell: path.join(dir, 'powershell', `${bin}.ps1`),
    }[shell];
    const script = await readFile(file, 'utf8').catch((cause: unknown) => {
      throw new UserError(`the completion generator wrote no ${shell} script (${file})`, {
        hint: `check that ${this.config.cacheDir} is writable, or set XDG_CACHE_HOME`,
        cause,
      });
    });
    process.stdout.write(shell === 'zsh' ? sourceableZsh(script, bin) : script);
  }
}

/**
 * @oclif/plugin-autocomplete's generator command. The package exports no module but its (empty)
 * index, and the CLI loads no oclif plugins (docs/adr/0027), so its file is found from there.
 */
async function autocompleteGenerator(): Promise<new (argv: string[], config: Command['config']) => Command> {
  const index = createRequire(import.meta.url).resolve('@oclif/plugin-autocomplete');
  const file = path.join(path.dirname(index), 'commands', 'autocomplete', 'create.js');
  const module = (await import(pathToFileURL(file).href)) as {
    default: new (argv: string[], config: Command['config']) => Command;
  };
  return module.default;
}

/** The zsh file is written for $fpath (it calls itself at the end); when sourced it must register. */
export function sourceableZsh(script: string, bin: string): string {
  const call = `\n_${bin}\n`;
  const at = script.lastIndexOf(call);
  const body = at === -1 ? script : script.slice(0, at + 1);
  return `${body}\ncompdef _${bin} ${bin}\n`;
}
