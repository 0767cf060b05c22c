// SPDX-License-Identifier: Apache-2.0
// What signature verification costs a device per module start: the verdict for a WasmFleet
// Ed25519 signature, a legacy cosign (ECDSA P-256) signature, and a cosign 3 Sigstore bundle
// (DSSE, ECDSA P-256), each with the chain checks. Verification runs once per revision start,
// not per message. Run: node bench/signing/run.ts [iterations]
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import {
  COSIGN_PAYLOAD_TYPE,
  COSIGN_SIGN_PREDICATE,
  dssePae,
  IN_TOTO_PAYLOAD_TYPE,
  IN_TOTO_STATEMENT_V1,
  keyFingerprint,
  signModuleDigest,
  SIGSTORE_BUNDLE_MEDIA_TYPE,
  verifyModuleSignatures,
  type ModuleSignature,
} from '@wasmfleet/api';

const iterations = Number(process.argv[2] ?? 2000);
const module = createHash('sha256').update('bench module').digest('hex');
const manifest = Buffer.from(
  JSON.stringify({
    schemaVersion: 2,
    layers: [{ mediaType: 'application/wasm', digest: `sha256:${module}`, size: 1 }],
  }),
);
const manifestHex = createHash('sha256').update(manifest).digest('hex');
const ed = generateKeyPairSync('ed25519');
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const trusted = [
  { id: 'release', key: ed.publicKey, fingerprint: keyFingerprint(ed.publicKey) },
  { id: 'ci', key: ec.publicKey, fingerprint: keyFingerprint(ec.publicKey) },
];
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
const bundle = Buffer.from(
  JSON.stringify({
    mediaType: SIGSTORE_BUNDLE_MEDIA_TYPE,
    dsseEnvelope: {
      payload: statement.toString('base64'),
      payloadType: IN_TOTO_PAYLOAD_TYPE,
      signatures: [
        { sig: sign('sha256', dssePae(IN_TOTO_PAYLOAD_TYPE, statement), ec.privateKey).toString('base64') },
      ],
    },
  }),
);
const cases: [string, ModuleSignature][] = [
  ['wasmfleet ed25519', { keyId: 'release', ed25519: signModuleDigest(module, ed.privateKey) }],
  [
    'cosign .sig (P-256)',
    {
      cosign: {
        payload: payload.toString('base64'),
        signature: sign('sha256', payload, ec.privateKey).toString('base64'),
        manifest: manifest.toString('base64'),
      },
    },
  ],
  [
    'cosign bundle (DSSE, P-256)',
    { sigstoreBundle: { bundle: bundle.toString('base64'), manifest: manifest.toString('base64') } },
  ],
];
for (const [name, signature] of cases) {
  const policy = { trusted, allowUnsigned: false };
  if (!verifyModuleSignatures(module, [signature], policy).ok) throw new Error(`${name} does not verify`);
  const t0 = performance.now();
  for (let i = 0; i < iterations; i++) verifyModuleSignatures(module, [signature], policy);
  const us = ((performance.now() - t0) * 1000) / iterations;
  console.log(`${name.padEnd(30)} ${us.toFixed(1)} µs per verdict (${iterations} runs)`);
}
