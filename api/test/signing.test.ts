// SPDX-License-Identifier: Apache-2.0
// The pure signing core: the exact statement bytes, the device's verdicts, and DSSE's encoding.
// (End to end with real cosign, agents and the API server: operator/test/operator/signed-modules.)
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  COSIGN_PAYLOAD_TYPE,
  COSIGN_SIGN_PREDICATE,
  IN_TOTO_PAYLOAD_TYPE,
  IN_TOTO_STATEMENT_V1,
  SIGSTORE_BUNDLE_MEDIA_TYPE,
  dssePae,
  keyFingerprint,
  signModuleDigest,
  signingStatement,
  verifyModuleSignatures,
  type ModuleSignature,
  type TrustedKey,
} from '../src/index.ts';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');
const A = sha('module a');
const B = sha('module b');

function key(id: string, type: 'ed25519' | 'ec' = 'ed25519') {
  const pair =
    type === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const trusted: TrustedKey = { id, key: pair.publicKey, fingerprint: keyFingerprint(pair.publicKey) };
  return { ...pair, trusted };
}

describe('module signing statement', () => {
  it('is "wasmfleet-module-signature/v1\\nsha256:<hex>\\n", 102 ASCII bytes, and refuses anything but a lower-case hex digest', () => {
    assert.equal(
      new TextDecoder().decode(signingStatement(A)),
      `wasmfleet-module-signature/v1\nsha256:${A}\n`,
    );
    assert.equal(signingStatement(A).length, 102);
    assert.throws(() => signingStatement(A.toUpperCase()), /expected 64 lower-case hex/);
    assert.throws(() => signingStatement(`sha256:${A}`), /expected 64 lower-case hex/);
  });
});

describe('verifyModuleSignatures (the device verdict)', () => {
  const release = key('release');
  const other = key('other');
  const ec = key('ci', 'ec');
  const policy = { trusted: [release.trusted, ec.trusted], allowUnsigned: false };
  const sig = (k: typeof release, digest: string, keyId = k.trusted.id) => ({
    keyId,
    ed25519: signModuleDigest(digest, k.privateKey),
  });

  it('accepts a signature by a trusted key and names the key', () => {
    assert.deepEqual(verifyModuleSignatures(A, [sig(release, A)], policy), {
      ok: true,
      keyId: 'release',
      kind: 'wasmfleet',
    });
  });

  it('Unsigned without signatures; UntrustedKey for an unknown key; SignatureInvalid for another digest or a forged key id', () => {
    assert.equal(verifyModuleSignatures(A, undefined, policy).ok ? '' : 'Unsigned', 'Unsigned');
    const untrusted = verifyModuleSignatures(A, [sig(other, A)], policy);
    assert.equal(!untrusted.ok && untrusted.reason, 'UntrustedKey');
    const otherBytes = verifyModuleSignatures(A, [sig(release, B)], policy);
    assert.equal(!otherBytes.ok && otherBytes.reason, 'SignatureInvalid');
    assert.match(
      !otherBytes.ok ? otherBytes.message : '',
      new RegExp(`key release \\(${release.trusted.fingerprint}\\) does not verify for sha256:${A}`),
    );
    const forged = verifyModuleSignatures(A, [sig(other, A, 'release')], policy);
    assert.equal(!forged.ok && forged.reason, 'SignatureInvalid');
    const wrongType = verifyModuleSignatures(A, [sig(other, A, 'ci')], policy);
    assert.match(
      !wrongType.ok ? wrongType.message : '',
      /trusted key ci is a ec key; WasmFleet signatures need an Ed25519 key/,
    );
  });

  it('one good signature among bad ones is enough; allowUnsigned runs unsigned and untrusted, never invalid', () => {
    assert.equal(
      verifyModuleSignatures(A, [sig(other, A), sig(release, B, 'release'), sig(release, A)], policy).ok,
      true,
    );
    const lax = { ...policy, allowUnsigned: true };
    assert.deepEqual(verifyModuleSignatures(A, [], lax), { ok: true, keyId: undefined, kind: 'unsigned' });
    assert.equal(verifyModuleSignatures(A, [sig(other, A)], lax).ok, true);
    assert.equal(verifyModuleSignatures(A, [sig(release, B, 'release')], lax).ok, false);
  });

  it('a device with no trusted key cannot verify: it runs everything when allowed (the default without keys)', () => {
    assert.equal(verifyModuleSignatures(A, [sig(release, B)], { trusted: [], allowUnsigned: true }).ok, true);
  });
});

describe('DSSE pre-authentication encoding', () => {
  it('matches the example of the DSSE protocol specification', () => {
    assert.equal(
      Buffer.from(dssePae('http://example.com/HelloWorld', Buffer.from('hello world'))).toString(),
      'DSSEv1 29 http://example.com/HelloWorld 11 hello world',
    );
  });
});

describe('no altered byte gets through (property)', () => {
  // Valid material for module A in all three formats, then one byte of one part changed: the
  // device must never answer ok. Parts are mutated as bytes and re-encoded, as an attacker could.
  const ed = generateKeyPairSync('ed25519');
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const policy = {
    trusted: [
      { id: 'release', key: ed.publicKey, fingerprint: keyFingerprint(ed.publicKey) },
      { id: 'ci', key: ec.publicKey, fingerprint: keyFingerprint(ec.publicKey) },
    ],
    allowUnsigned: false,
  };
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      layers: [{ mediaType: 'application/wasm', digest: `sha256:${A}`, size: 9 }],
    }),
  );
  const manifestHex = createHash('sha256').update(manifest).digest('hex');
  const payload = Buffer.from(
    JSON.stringify({
      critical: {
        identity: {},
        image: { 'docker-manifest-digest': `sha256:${manifestHex}` },
        type: COSIGN_PAYLOAD_TYPE,
      },
      optional: null,
    }),
  );
  const statement = Buffer.from(
    JSON.stringify({
      _type: IN_TOTO_STATEMENT_V1,
      subject: [{ digest: { sha256: manifestHex } }],
      predicateType: COSIGN_SIGN_PREDICATE,
      predicate: {},
    }),
  );
  const dsseSig = sign('sha256', dssePae(IN_TOTO_PAYLOAD_TYPE, statement), ec.privateKey);
  const bundle = (stmt: Buffer, sig: Buffer) =>
    Buffer.from(
      JSON.stringify({
        mediaType: SIGSTORE_BUNDLE_MEDIA_TYPE,
        dsseEnvelope: {
          payload: stmt.toString('base64'),
          payloadType: IN_TOTO_PAYLOAD_TYPE,
          signatures: [{ sig: sig.toString('base64') }],
        },
      }),
    ).toString('base64');
  const edSig = Buffer.from(signModuleDigest(A, ed.privateKey), 'base64');
  const cosignSig = sign('sha256', payload, ec.privateKey);
  const flip = (bytes: Buffer, at: number, by: number): Buffer => {
    const copy = Buffer.from(bytes);
    const i = at % copy.length;
    copy[i] = (copy[i] ?? 0) ^ by;
    return copy;
  };
  type Part = (at: number, by: number) => { digest: string; signatures: ModuleSignature[] };
  const parts: Record<string, Part> = {
    'wasmfleet digest': (at, by) => ({
      digest: flipHex(A, at, by),
      signatures: [{ keyId: 'release', ed25519: edSig.toString('base64') }],
    }),
    'wasmfleet signature': (at, by) => ({
      digest: A,
      signatures: [{ keyId: 'release', ed25519: flip(edSig, at, by).toString('base64') }],
    }),
    'cosign payload': (at, by) => ({
      digest: A,
      signatures: [cosignMaterial(flip(payload, at, by), cosignSig, manifest)],
    }),
    'cosign signature': (at, by) => ({
      digest: A,
      signatures: [cosignMaterial(payload, flip(cosignSig, at, by), manifest)],
    }),
    'cosign manifest': (at, by) => ({
      digest: A,
      signatures: [cosignMaterial(payload, cosignSig, flip(manifest, at, by))],
    }),
    'bundle statement': (at, by) => ({
      digest: A,
      signatures: [
        {
          sigstoreBundle: {
            bundle: bundle(flip(statement, at, by), dsseSig),
            manifest: manifest.toString('base64'),
          },
        },
      ],
    }),
    'bundle signature': (at, by) => ({
      digest: A,
      signatures: [
        {
          sigstoreBundle: {
            bundle: bundle(statement, flip(dsseSig, at, by)),
            manifest: manifest.toString('base64'),
          },
        },
      ],
    }),
    'bundle manifest': (at, by) => ({
      digest: A,
      signatures: [
        {
          sigstoreBundle: {
            bundle: bundle(statement, dsseSig),
            manifest: flip(manifest, at, by).toString('base64'),
          },
        },
      ],
    }),
  };

  it('the unaltered material verifies in all three formats (the property below is not vacuous)', () => {
    for (const [name, part] of Object.entries(parts)) {
      const { digest, signatures } = part(0, 0);
      assert.equal(verifyModuleSignatures(digest, signatures, policy).ok, true, name);
    }
  });

  it('one changed byte anywhere is refused', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...Object.keys(parts)),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (name, at, by) => {
          const { digest, signatures } = (parts[name] as Part)(at, by);
          return !verifyModuleSignatures(digest, signatures, policy).ok;
        },
      ),
      { numRuns: 2000 },
    );
  });
});

function flipHex(hex: string, at: number, by: number): string {
  if (by === 0) return hex;
  const i = at % hex.length;
  const digits = '0123456789abcdef';
  const d = digits[(digits.indexOf(hex[i] ?? '0') + (by % 15) + 1) % 16] ?? '0';
  return hex.slice(0, i) + d + hex.slice(i + 1);
}

function cosignMaterial(payload: Buffer, signature: Buffer, manifest: Buffer): ModuleSignature {
  return {
    cosign: {
      payload: payload.toString('base64'),
      signature: signature.toString('base64'),
      manifest: manifest.toString('base64'),
    },
  };
}
