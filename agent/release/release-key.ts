// SPDX-License-Identifier: Apache-2.0
// The key a release is signed with. A real release passes its key (--key or WASMFLEET_RELEASE_KEY:
// a PKCS#8 PEM Ed25519 private key, e.g. from `wasmfleet sign keygen`) from outside the
// repository; without one, builds (CI, tests, a laptop) sign with a throwaway key made once per
// machine in the cache, and say so. Its public half goes into the release, so the devices that
// install it accept upgrades signed by the same key.
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { KEY_ID_PATTERN } from '@wasmfleet/api';

export const THROWAWAY_KEY_ID = 'wasmfleet-throwaway';
const KEY_ID = new RegExp(KEY_ID_PATTERN);

export interface ReleaseKey {
  readonly id: string;
  readonly privateKey: KeyObject;
  /** SPKI PEM of the public key: share/release-keys/<id>.pub in the release. */
  readonly publicPem: string;
  readonly throwaway: boolean;
}

export async function releaseKey(
  file: string | undefined,
  keyId: string | undefined,
  cacheDir: string,
): Promise<ReleaseKey> {
  if (file) return fromFile(file, keyId ?? path.basename(file).replace(/\.(key|pem)$/, ''), false);
  const throwaway = path.join(cacheDir, 'release-keys', `${THROWAWAY_KEY_ID}.key`);
  const pem = await readFile(throwaway, 'utf8').catch(() => undefined);
  if (pem === undefined) {
    await mkdir(path.dirname(throwaway), { recursive: true, mode: 0o700 });
    const { privateKey } = generateKeyPairSync('ed25519');
    await writeFile(throwaway, privateKey.export({ type: 'pkcs8', format: 'pem' }), {
      mode: 0o600,
      flag: 'wx',
    }).catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error; // a concurrent build made it
    });
  }
  return fromFile(throwaway, THROWAWAY_KEY_ID, true);
}

async function fromFile(file: string, id: string, throwaway: boolean): Promise<ReleaseKey> {
  if (!KEY_ID.test(id))
    throw new Error(
      `release key id ${JSON.stringify(id)}: use lower-case letters, digits, '-', '.' and '_' (pass --key-id, or name the key file <key-id>.key)`,
    );
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(await readFile(file));
  } catch (cause) {
    throw new Error(
      `release key ${file} is not a readable PEM private key (make one with \`wasmfleet sign keygen\`)`,
      {
        cause,
      },
    );
  }
  if (privateKey.asymmetricKeyType !== 'ed25519')
    throw new Error(
      `release key ${file} is a ${privateKey.asymmetricKeyType ?? 'unknown'} key; releases are signed with Ed25519`,
    );
  const publicPem = createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString();
  return { id, privateKey, publicPem, throwaway };
}
