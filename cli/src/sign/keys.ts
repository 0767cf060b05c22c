// SPDX-License-Identifier: Apache-2.0
// Key files for `wasmfleet sign`: an Ed25519 pair written as <key-id>.key (PKCS#8 PEM, mode 0600)
// and <key-id>.pub (SPKI PEM) — the .pub file is what a device's --trusted-keys directory holds,
// and its name is the key id signatures carry.
import { generateKeyPairSync, createPublicKey, type KeyObject } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { KEY_ID_PATTERN, keyFingerprint, readPrivateKey } from '@wasmfleet/api';
import { UserError } from '../errors.ts';

const KEY_ID = new RegExp(KEY_ID_PATTERN);

export function checkKeyId(keyId: string, flag: string): string {
  if (!KEY_ID.test(keyId))
    throw new UserError(`${flag} ${keyId} is not a key name`, {
      hint: "use lower-case letters, digits, '-', '.' and '_', starting and ending with a letter or digit (e.g. release-2026)",
    });
  return keyId;
}

export interface WrittenKeyPair {
  readonly keyId: string;
  readonly privateKeyFile: string;
  readonly publicKeyFile: string;
  readonly fingerprint: string;
}

export async function writeKeyPair(keyId: string, dir: string): Promise<WrittenKeyPair> {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const privateKeyFile = path.join(dir, `${keyId}.key`);
  const publicKeyFile = path.join(dir, `${keyId}.pub`);
  const write = async (file: string, text: string, mode: number): Promise<void> => {
    try {
      await writeFile(file, text, { flag: 'wx', mode }); // never overwrite a key
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code;
      throw new UserError(
        code === 'EEXIST' ? `${file} already exists` : `cannot write ${file}: ${(cause as Error).message}`,
        {
          hint:
            code === 'EEXIST'
              ? 'choose another --key-id or --dir; an existing key is never overwritten'
              : 'check that the directory exists and is writable',
          cause,
        },
      );
    }
  };
  await write(privateKeyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 0o600);
  await write(publicKeyFile, publicKey.export({ type: 'spki', format: 'pem' }).toString(), 0o644);
  return { keyId, privateKeyFile, publicKeyFile, fingerprint: keyFingerprint(publicKey) };
}

export interface SigningKey {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** From --key-id, else the file name without .key/.pem. */
  readonly keyId: string;
  readonly fingerprint: string;
}

export async function readSigningKey(file: string, keyId: string | undefined): Promise<SigningKey> {
  const pem = await readFile(file).catch((cause: unknown) => {
    throw new UserError(`cannot read the key ${file}: ${(cause as Error).message}`, {
      hint: 'create a key pair with `wasmfleet sign keygen --key-id <name>`',
      cause,
    });
  });
  let privateKey: KeyObject;
  try {
    privateKey = readPrivateKey(pem, file);
  } catch (cause) {
    throw new UserError((cause as Error).message, {
      hint: 'pass the .key file `wasmfleet sign keygen` wrote',
      cause,
    });
  }
  if (privateKey.asymmetricKeyType !== 'ed25519')
    throw new UserError(
      `${file} holds a key of type ${privateKey.asymmetricKeyType ?? 'unknown'}; module signatures use Ed25519`,
      {
        hint: 'create one with `wasmfleet sign keygen`; cosign keys sign OCI artifacts with `cosign sign --key` instead',
      },
    );
  const publicKey = createPublicKey(privateKey);
  const id = keyId ?? path.basename(file).replace(/\.(key|pem)$/, '');
  return {
    privateKey,
    publicKey,
    keyId: checkKeyId(id, keyId === undefined ? 'the key file name' : '--key-id'),
    fingerprint: keyFingerprint(publicKey),
  };
}
