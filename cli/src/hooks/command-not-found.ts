// SPDX-License-Identifier: Apache-2.0
// oclif's command_not_found hook: kubectl's answer to a typo (`wasmfleet gte nodes`) instead of
// oclif's "command gte:nodes not found": what was not found, the closest commands, where to look.
import type { Hook } from '@oclif/core';
import { style } from '../output/style.ts';
import { commandSuggestions } from '../suggest.ts';

const hook: Hook<'command_not_found'> = function (options) {
  const words = options.id.split(':');
  const ids = options.config.commands.filter((c) => !c.hidden).map((c) => c.id);
  const { unknown, suggestions } = commandSuggestions(words, ids);
  const bin = options.config.bin;
  const lines = [
    `${style.errorLabel('error:')} unknown command "${unknown}" for "${bin}"`,
    ...(suggestions.length > 0 ? ['', 'Did you mean this?', ...suggestions.map((s) => `\t${s}`)] : []),
    '',
    `Run '${bin} --help' for the commands.`,
  ];
  process.stderr.write(`${lines.join('\n')}\n`);
  process.exit(1);
};

export default hook;
