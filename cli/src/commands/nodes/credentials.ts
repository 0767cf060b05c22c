// SPDX-License-Identifier: Apache-2.0
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Args, Flags } from '@oclif/core';
import type { V1Secret } from '@kubernetes/client-node';
import { credentialsSecretName } from '@wasmfleet/operator';
import { stringify } from 'yaml';
import { WasmfleetCommand } from '../../base-command.ts';
import { UserError } from '../../errors.ts';

export interface DeviceCredentialsView {
  readonly node: string;
  readonly broker: string | undefined;
  readonly username: string;
  readonly password: string;
  readonly ca: string | undefined;
}

export default class NodesCredentials extends WasmfleetCommand<typeof NodesCredentials> {
  static override summary = 'Print a device’s MQTT credentials and agent settings, to provision it.';
  static override description =
    'Reads the Secret the operator made for the device (wasmfleet-mqtt-<node>, in the namespace the operator keeps them: -n). ' +
    'With --dir, writes the password, the broker CA and an agent.env there (files only the owner can read).';
  static override examples = [
    '<%= config.bin %> nodes credentials pump-7 -n wasmfleet',
    '<%= config.bin %> nodes credentials pump-7 -n wasmfleet -o json',
    '<%= config.bin %> nodes credentials pump-7 -n wasmfleet --dir ./pump-7   # copy to the device as /etc/wasmfleet',
  ];
  static override args = { node: Args.string({ required: true, description: 'EdgeNode name' }) };
  static override flags = {
    output: Flags.option({
      char: 'o',
      options: ['env', 'json', 'yaml'] as const,
      default: 'env' as const,
      description: 'env: WASMFLEET_* lines for the agent; json/yaml: the fields.',
    })(),
    dir: Flags.string({
      description: 'Write password, ca.crt and agent.env (referring to them) into this directory.',
    }),
  };

  public async run(): Promise<void> {
    const { args } = await this.parse(NodesCredentials);
    const secretName = credentialsSecretName(args.node);
    const view = await this.call(
      { what: `the credentials of device "${args.node}"` },
      async ({ objects, namespace }) => {
        let secret: V1Secret;
        try {
          secret = await objects.read<V1Secret>({
            apiVersion: 'v1',
            kind: 'Secret',
            metadata: { name: secretName, namespace },
          });
        } catch (error) {
          if ((error as { code?: number }).code === 404) {
            throw new UserError(
              `device "${args.node}" has no MQTT credentials in namespace ${namespace} (no Secret ${secretName})`,
              {
                hint: `create its EdgeNode first (the operator makes the Secret within seconds when it runs with --device-identity), and pass -n <the operator's namespace>`,
                cause: error,
              },
            );
          }
          throw error;
        }
        return credentialsView(args.node, secret);
      },
    );
    const flags = this.flags;
    if (flags.dir) {
      const dir = path.resolve(flags.dir);
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await writeFile(path.join(dir, 'password'), `${view.password}\n`, { mode: 0o600 });
      if (view.ca) await writeFile(path.join(dir, 'ca.crt'), view.ca, { mode: 0o644 });
      await writeFile(path.join(dir, 'agent.env'), agentEnv(view, dir), { mode: 0o600 });
      await chmod(path.join(dir, 'password'), 0o600);
      this.log(
        `wrote ${['password', ...(view.ca ? ['ca.crt'] : []), 'agent.env'].map((f) => path.join(dir, f)).join(', ')}`,
      );
      return;
    }
    if (flags.output === 'json') this.log(JSON.stringify(view, null, 2));
    else if (flags.output === 'yaml') process.stdout.write(stringify(view));
    else process.stdout.write(agentEnv(view, undefined));
  }
}

export function credentialsView(node: string, secret: V1Secret): DeviceCredentialsView {
  const field = (key: string): string | undefined => {
    const b64 = secret.data?.[key];
    return b64 === undefined ? undefined : Buffer.from(b64, 'base64').toString('utf8');
  };
  const password = field('password');
  if (!password) {
    throw new UserError(`Secret ${secret.metadata?.name ?? ''} holds no password`, {
      hint: 'delete it; the operator makes a new one (the device then needs the new password)',
    });
  }
  return {
    node,
    broker: field('broker'),
    username: field('username') ?? node,
    password,
    ca: field('ca.crt'),
  };
}

/** The agent's environment. Without a directory the password is inline (keep the output secret). */
export function agentEnv(view: DeviceCredentialsView, dir: string | undefined): string {
  return [
    `WASMFLEET_NODE=${view.node}`,
    ...(view.broker ? [`WASMFLEET_BROKER=${view.broker}`] : ['# WASMFLEET_BROKER=mqtts://<broker>:8883']),
    `WASMFLEET_MQTT_USERNAME=${view.username}`,
    dir
      ? `WASMFLEET_MQTT_PASSWORD_FILE=${path.join(dir, 'password')}`
      : `WASMFLEET_MQTT_PASSWORD=${view.password}`,
    ...(view.ca
      ? [
          dir
            ? `WASMFLEET_MQTT_CA=${path.join(dir, 'ca.crt')}`
            : '# WASMFLEET_MQTT_CA=<file holding the broker CA: -o json, field ca>',
        ]
      : []),
    '',
  ].join('\n');
}
