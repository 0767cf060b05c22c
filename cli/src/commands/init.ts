// SPDX-License-Identifier: Apache-2.0
import path from 'node:path';
import { Args, Flags } from '@oclif/core';
import { LANGS, scaffold } from '@wasmfleet/workloads';
import { WasmfleetCommand } from '../base-command.ts';
import { UserError } from '../errors.ts';

export default class Init extends WasmfleetCommand<typeof Init> {
  static override summary =
    'Start a new function from a working template (AssemblyScript, C, Go or JavaScript).';
  static override description =
    'Copies workloads/templates/<lang> with the guest SDK into a new folder: source, build script, function.yaml and README. Build it with the script in the folder, then `wasmfleet push` and `wasmfleet apply`.';
  static override examples = [
    '<%= config.bin %> init my-filter --lang c',
    '<%= config.bin %> init alerts --lang as --dir functions/alerts',
  ];
  static override args = {
    name: Args.string({ required: true, description: 'function name (lowercase, digits, -)' }),
  };
  static override flags = {
    lang: Flags.option({ options: LANGS, required: true, description: 'Source language.' })(),
    dir: Flags.string({ description: 'Target folder (default: ./<name>).' }),
  };

  public async run(): Promise<void> {
    const { args } = await this.parse(Init);
    const dir = this.flags.dir ?? args.name;
    const result = await scaffold(args.name, this.flags.lang, dir).catch((error: unknown) => {
      throw new UserError((error as Error).message, {
        hint: 'pick another name or an empty --dir',
        cause: error,
      });
    });
    this.log(
      `created ${path.relative(process.cwd(), path.resolve(dir)) || '.'} (${this.flags.lang}): ${result.files.length} files`,
    );
    for (const line of result.next) this.log(`  ${line}`);
  }
}
