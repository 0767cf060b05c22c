// SPDX-License-Identifier: Apache-2.0
// `wasmfleet-agent join …` as a program: parse, trade the token, write the settings, start the
// service, and say what happened (exit 1 with the operator's reason when the token is refused,
// 2 for a bad argument).
import { ConfigError } from '../cli/config.ts';
import { JOIN_HELP, parseJoinArgs } from './join-args.ts';
import { JoinRefused, SERVICE, requestCredentials, startService, writeAgentSettings } from './device-join.ts';

export async function joinCommand(argv: readonly string[]): Promise<number> {
  let args;
  try {
    args = parseJoinArgs(argv);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`wasmfleet-agent join: ${error.message}\n`);
    return 2;
  }
  if (args === 'help') {
    process.stdout.write(JOIN_HELP);
    return 0;
  }
  try {
    const joined = await requestCredentials(args);
    const files = await writeAgentSettings(args, joined);
    process.stdout.write(`joined the fleet as ${joined.node}; wrote ${files.join(', ')}\n`);
    if (!args.start) return 0;
    if (await startService()) process.stdout.write(`started ${SERVICE}\n`);
    else
      process.stdout.write(
        `no ${SERVICE} here to start; run the agent with these settings: set -a; . ${args.configDir}/agent.env; wasmfleet-agent\n`,
      );
    return 0;
  } catch (error) {
    if (!(error instanceof JoinRefused)) throw error;
    process.stderr.write(`wasmfleet-agent join: ${error.message}\n`);
    return 1;
  }
}
