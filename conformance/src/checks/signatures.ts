// SPDX-License-Identifier: Apache-2.0
// Signatures: with --trusted-keys, only modules a trusted key vouches for run (ADR 0011).
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { signModuleDigest, type DesiredFunction } from '@wasmfleet/api';
import type { Check, CheckContext } from '../check.ts';
import { sha256Hex } from '../fleet.ts';
import { variant } from '../guests.ts';
import { expectFailed } from './modules.ts';
import { roundTrip } from './desired.ts';

interface Signed {
  readonly node: string;
  readonly fn: (name: string, signer?: { id: string; key: KeyObject; digest?: string }) => DesiredFunction;
  readonly trusted: { id: string; key: KeyObject };
}

/** A runtime started with one trusted Ed25519 key (`release.pub` in a --trusted-keys directory). */
async function signedSetup(ctx: CheckContext): Promise<Signed> {
  const node = ctx.node();
  const keys = path.join(ctx.dir, 'keys');
  await mkdir(keys, { recursive: true });
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  await writeFile(path.join(keys, 'release.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
  const bytes = variant(ctx.guests.probe, `signed-${node}`);
  await ctx.fleet.publishModule(bytes);
  await ctx.startAgent({ node, extraArgs: ['--trusted-keys', keys] });
  return {
    node,
    trusted: { id: 'release', key: privateKey },
    fn: (name, signer) => {
      const fn = ctx.fn(name, bytes);
      if (!signer) return fn;
      const ed25519 = signModuleDigest(signer.digest ?? sha256Hex(bytes), signer.key);
      return { ...fn, module: { ...fn.module, signatures: [{ keyId: signer.id, ed25519 }] } };
    },
  };
}

export const signatureChecks: readonly Check[] = [
  {
    name: 'signatures.trusted',
    title: 'a module signed by a trusted key runs',
    contract: 'docs/mqtt-contract.md#desired-state-desiredstate',
    async run(ctx) {
      const s = await signedSetup(ctx);
      await ctx.fleet.publishDesired(s.node, 1, [s.fn('signed', s.trusted)]);
      await ctx.fleet.running(s.node, 'signed', ctx.within(30_000));
      await roundTrip(ctx, s.node, 'signed', 'vouched-for');
    },
  },
  {
    name: 'signatures.unsigned-refused',
    title: 'with trusted keys, an unsigned module never runs: Failed, Unsigned',
    contract: 'docs/mqtt-contract.md#desired-state-desiredstate',
    async run(ctx) {
      const s = await signedSetup(ctx);
      await ctx.fleet.publishDesired(s.node, 1, [s.fn('unsigned')]);
      await expectFailed(ctx, s.node, 'unsigned', 'Unsigned');
    },
  },
  {
    name: 'signatures.invalid-refused',
    title:
      'a signature that does not verify for the digest never lets the module run: Failed, SignatureInvalid',
    contract: 'docs/mqtt-contract.md#desired-state-desiredstate',
    async run(ctx) {
      const s = await signedSetup(ctx);
      // The trusted key, but over another module's digest.
      const other = sha256Hex(variant(ctx.guests.probe, 'other'));
      await ctx.fleet.publishDesired(s.node, 1, [s.fn('forged', { ...s.trusted, digest: other })]);
      await expectFailed(ctx, s.node, 'forged', 'SignatureInvalid');
    },
  },
  {
    name: 'signatures.untrusted-key-refused',
    title: 'a module signed only by a key the device does not trust never runs: Failed, UntrustedKey',
    contract: 'docs/mqtt-contract.md#desired-state-desiredstate',
    async run(ctx) {
      const s = await signedSetup(ctx);
      const stranger = { id: 'stranger', key: generateKeyPairSync('ed25519').privateKey };
      await ctx.fleet.publishDesired(s.node, 1, [s.fn('stranger', stranger)]);
      await expectFailed(ctx, s.node, 'stranger', 'UntrustedKey');
    },
  },
];
