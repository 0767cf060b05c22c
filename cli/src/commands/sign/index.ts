// SPDX-License-Identifier: Apache-2.0
import { Args, Flags } from '@oclif/core';
import { signModuleDigest, type WasmfleetSignature } from '@wasmfleet/api';
import { stringify } from 'yaml';
import { WasmfleetCommand } from '../../base-command.ts';
import { borderless } from '../../output/render.ts';
import { readModuleFile } from '../../push/module-file.ts';
import { readSigningKey } from '../../sign/keys.ts';

export default class Sign extends WasmfleetCommand<typeof Sign> {
  static override summary = 'Sign a .wasm module: print a detached signature for spec.module.signatures.';
  static override description = `Signs the module's SHA-256 with an Ed25519 key (from \`wasmfleet sign keygen\`): the signed bytes are "wasmfleet-module-signature/v1\\nsha256:<hex>\\n" (docs/adr/0011). Put the result in the WasmFunction's spec.module.signatures; a device verifies it with its own copy of the public key (<key-id>.pub in its --trusted-keys) before compiling, and refuses the module otherwise.

-o yaml prints the spec.module snippet to paste; -o json the signature with the digest and key fingerprint. OCI artifacts can be signed with \`cosign sign --key\` instead.`;
  static override examples = [
    '<%= config.bin %> sign temp-alert.wasm --key keys/release-2026.key',
    '<%= config.bin %> sign temp-alert.wasm --key ci.pem --key-id release-2026 -o yaml',
  ];
  static override args = { file: Args.string({ required: true, description: 'The .wasm file' }) };
  static override flags = {
    key: Flags.string({ required: true, description: 'Ed25519 private key (PEM), e.g. release-2026.key.' }),
    'key-id': Flags.string({
      description: 'Key name signatures carry (default: the key file name without .key).',
    }),
    output: Flags.option({
      char: 'o',
      options: ['table', 'json', 'yaml'] as const,
      default: 'table' as const,
      description: 'Output format.',
    })(),
  };

  public async run(): Promise<void> {
    const { args } = await this.parse(Sign);
    const module = await readModuleFile(args.file);
    const key = await readSigningKey(this.flags.key, this.flags['key-id']);
    const signature: WasmfleetSignature = {
      keyId: key.keyId,
      ed25519: signModuleDigest(module.sha256, key.privateKey),
    };
    if (this.flags.output === 'json') {
      process.stdout.write(
        `${JSON.stringify({ sha256: module.sha256, keyId: key.keyId, fingerprint: key.fingerprint, signature }, null, 2)}\n`,
      );
      return;
    }
    if (this.flags.output === 'yaml') {
      process.stdout.write(
        `# ${args.file}: sha256 ${module.sha256}, signed by ${key.keyId} (${key.fingerprint})\n${stringify({ module: { sha256: module.sha256, signatures: [signature] } })}`,
      );
      return;
    }
    const table = borderless(['MODULE', 'SHA256', 'KEY ID', 'FINGERPRINT', 'SIGNATURE']);
    table.push([args.file, module.sha256, key.keyId, key.fingerprint, signature.ed25519]);
    process.stdout.write(`${table.toString()}\n`);
  }
}
