// SPDX-License-Identifier: Apache-2.0
// `wasmfleet-agent join <broker> --token <token> [--ca <base64 PEM>] …`: the command
// `wasmfleet nodes join` prints. Pure: every bad value gets an error that says what to fix.
import { parseArgs } from 'node:util';
import { parseJoinToken } from '@wasmfleet/api';
import { ConfigError } from '../cli/config.ts';
import { brokerAddress } from '../mqtt/session-options.ts';

export const JOIN_HELP = `wasmfleet-agent join — provision this device with the command \`wasmfleet nodes join\` printed

Usage: wasmfleet-agent join <broker-url> --token <token> [--ca <base64>] [options]

  --token <token>       the single-use bootstrap token (wfjoin.…)
  --ca <base64>         the broker's CA certificate (PEM, base64), for a private CA
  --config-dir <dir>    where agent.env and the credentials go (default /etc/wasmfleet)
  --no-start            write the settings only; do not (re)start the wasmfleet-agent service
  --timeout <seconds>   how long to wait for the operator's answer (default 30)
  -h, --help            this help
`;

export interface JoinArgs {
  readonly broker: string;
  readonly token: string;
  readonly ca: string | undefined;
  readonly configDir: string;
  readonly start: boolean;
  readonly timeoutMs: number;
}

export function parseJoinArgs(argv: readonly string[]): JoinArgs | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        token: { type: 'string' },
        ca: { type: 'string' },
        'config-dir': { type: 'string', default: '/etc/wasmfleet' },
        'no-start': { type: 'boolean', default: false },
        timeout: { type: 'string', default: '30' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    });
  } catch (error) {
    throw new ConfigError(`${(error as Error).message}; see wasmfleet-agent join --help`);
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  const broker = positionals[0];
  if (!broker || positionals.length > 1)
    throw new ConfigError(
      'give the broker URL once, as `wasmfleet nodes join` printed it: wasmfleet-agent join mqtts://host:8883 --token …',
    );
  try {
    brokerAddress(broker);
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
  if (!values.token)
    throw new ConfigError('no --token: copy the whole command `wasmfleet nodes join <node>` printed');
  if (!parseJoinToken(values.token))
    throw new ConfigError(
      '--token is not a join token (wfjoin.<id>.<secret>): copy the whole command `wasmfleet nodes join` printed',
    );
  const timeout = Number(values.timeout);
  if (!Number.isInteger(timeout) || timeout < 1 || timeout > 600)
    throw new ConfigError(`--timeout ${values.timeout}: expected whole seconds from 1 to 600`);
  let ca: string | undefined;
  if (values.ca !== undefined) {
    ca = Buffer.from(values.ca, 'base64').toString('utf8');
    if (!ca.includes('-----BEGIN CERTIFICATE-----'))
      throw new ConfigError(
        '--ca is not a base64 PEM certificate: copy the whole command `wasmfleet nodes join` printed',
      );
  }
  return {
    broker,
    token: values.token,
    ca,
    configDir: values['config-dir'],
    start: !values['no-start'],
    timeoutMs: timeout * 1000,
  };
}
