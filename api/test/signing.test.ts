// The pure signing core: the exact statement bytes, the device's verdicts, and DSSE's encoding.
// (End to end with real cosign, agents and the API server: operator/test/operator/signed-modules.)
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  dssePae,
  keyFingerprint,
  signModuleDigest,
  signingStatement,
  verifyModuleSignatures,
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
