// SPDX-License-Identifier: Apache-2.0
// The device's trust anchor: public keys read from files it was installed with, never from the
// broker. A key's name is its file name without `.pub` (release-2026.pub → key "release-2026"),
// the keyId that `wasmfleet sign --key-id` writes into a signature.
import { createPublicKey } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { KEY_ID_PATTERN, keyFingerprint, type TrustedKey } from '@wasmfleet/api';

const KEY_ID = new RegExp(KEY_ID_PATTERN);

function readKey(file: string): TrustedKey {
  const id = path.basename(file).replace(/\.pub$/, '');
  if (!KEY_ID.test(id))
    throw new Error(
      `trusted key file ${file}: its name must be <key-id>.pub with a key id of lower-case letters, digits, '-', '.' and '_' (e.g. release-2026.pub)`,
    );
  let key;
  try {
    key = createPublicKey(readFileSync(file));
  } catch (cause) {
    throw new Error(
      `trusted key file ${file} is not a PEM public key: export one with \`wasmfleet sign keygen\` or \`cosign generate-key-pair\``,
      { cause },
    );
  }
  const type = key.asymmetricKeyType;
  if (type !== 'ed25519' && type !== 'ec' && type !== 'rsa')
    throw new Error(
      `trusted key file ${file} holds a ${type ?? 'unknown'} key; use Ed25519, ECDSA P-256 or RSA`,
    );
  return { id, key, fingerprint: keyFingerprint(key) };
}

/** Reads every `<id>.pub` in the given files and directories; throws with the file at fault. */
export function loadTrustedKeys(paths: readonly string[]): TrustedKey[] {
  const keys = new Map<string, TrustedKey>();
  for (const p of paths) {
    let isDirectory: boolean;
    try {
      isDirectory = statSync(p).isDirectory();
    } catch (cause) {
      throw new Error(`${p}: no such file or directory (give <key-id>.pub files or a directory of them)`, {
        cause,
      });
    }
    const files = isDirectory
      ? readdirSync(p)
          .filter((n) => n.endsWith('.pub'))
          .sort()
          .map((n) => path.join(p, n))
      : [p];
    for (const file of files) {
      const key = readKey(file);
      const seen = keys.get(key.id);
      if (seen && seen.fingerprint !== key.fingerprint)
        throw new Error(`two different trusted keys are named ${key.id}; rename one of the files`);
      keys.set(key.id, key);
    }
  }
  return [...keys.values()];
}
