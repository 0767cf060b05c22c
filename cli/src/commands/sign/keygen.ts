// SPDX-License-Identifier: Apache-2.0
import { Flags } from '@oclif/core';
import { WasmfleetCommand } from '../../base-command.ts';
import { borderless } from '../../output/render.ts';
import { checkKeyId, writeKeyPair } from '../../sign/keys.ts';

export default class SignKeygen extends WasmfleetCommand<typeof SignKeygen> {
  static override summary = 'Create an Ed25519 key pair for signing modules.';
  static override description = `Writes <key-id>.key (the private key, PKCS#8 PEM, readable only by you) and <key-id>.pub (the public key). Keep the .key file secret (a CI secret store); install the .pub file on devices, in the directory their --trusted-keys names. The key id is the file name: signatures carry it and devices look for <key-id>.pub.`;
  static override examples = ['<%= config.bin %> sign keygen --key-id release-2026 --dir ./keys'];
  static override flags = {
    'key-id': Flags.string({ required: true, description: 'Name of the key, e.g. release-2026.' }),
    dir: Flags.string({ default: '.', description: 'Directory to write the two files into.' }),
    output: Flags.option({
      char: 'o',
      options: ['table', 'json'] as const,
      default: 'table' as const,
      description: 'Output format.',
    })(),
  };

  public async run(): Promise<void> {
    const keyId = checkKeyId(this.flags['key-id'], '--key-id');
    const pair = await writeKeyPair(keyId, this.flags.dir);
    if (this.flags.output === 'json') {
      process.stdout.write(`${JSON.stringify(pair, null, 2)}\n`);
      return;
    }
    const table = borderless(['KEY ID', 'FINGERPRINT', 'PRIVATE KEY', 'PUBLIC KEY']);
    table.push([pair.keyId, pair.fingerprint, pair.privateKeyFile, pair.publicKeyFile]);
    process.stdout.write(`${table.toString()}\n`);
    process.stderr.write(
      `Keep ${pair.privateKeyFile} secret. Install ${pair.publicKeyFile} on devices (wasmfleet-agent --trusted-keys <dir>).\n`,
    );
  }
}
