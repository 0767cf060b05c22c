// SPDX-License-Identifier: Apache-2.0
// `wasmfleet help [COMMAND]`: oclif's help command, as a command of our own (the CLI loads no
// oclif plugins: its bundle holds everything it runs, docs/adr/0027).
import { commands } from '@oclif/plugin-help';

export default commands.help;
