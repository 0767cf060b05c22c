// SPDX-License-Identifier: Apache-2.0
import { fileURLToPath } from 'node:url';
import { Command } from '@oclif/core';
import { HELP as AGENT_HELP } from '@wasmfleet/agent/config';
import { runBinary } from './run-binary.ts';

const AGENT_BIN = fileURLToPath(new URL('../../../agent/bin/wasmfleet-agent.js', import.meta.url));

export default class Agent extends Command {
  static override summary = 'Run the device agent (the same program as wasmfleet-agent).';
  static override description = `Every flag below belongs to the agent:\n\n${AGENT_HELP}`;
  static override strict = false;
  // The agent parses (and explains) its own flags.
  static override enableJsonFlag = false;
  static override examples = [
    '<%= config.bin %> agent --broker mqtt://10.0.0.5:1883 --node gateway-7 --sensors temperature',
  ];

  public async run(): Promise<void> {
    await runBinary(AGENT_BIN, this.argv);
  }
}
