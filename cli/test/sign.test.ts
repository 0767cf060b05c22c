// SPDX-License-Identifier: Apache-2.0
// `wasmfleet sign keygen` and `wasmfleet sign`: key files a device can trust, and signatures of
// exactly the documented bytes — checked with openssl, an implementation that is not ours.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { before, describe, it } from 'node:test';
import { cli } from './helpers.ts';

const run = promisify(execFile);
const MODULE = Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 0, 4, 3, 0x61, 0x62, 0x63]);
const SHA = createHash('sha256').update(MODULE).digest('hex');

describe('wasmfleet sign', () => {
  let dir: string;
  let wasm: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'cli-sign-'));
    wasm = path.join(dir, 'temp-alert.wasm');
    await writeFile(wasm, MODULE);
  });

  it('keygen writes <key-id>.key (owner-only) and <key-id>.pub, and never overwrites them', async () => {
    const r = await cli(['sign', 'keygen', '--key-id', 'release-2026', '--dir', dir, '-o', 'json']);
    assert.equal(r.exitCode, 0, r.stderr);
    const pair = JSON.parse(r.stdout) as {
      keyId: string;
      privateKeyFile: string;
      publicKeyFile: string;
      fingerprint: string;
    };
    assert.equal(pair.keyId, 'release-2026');
    assert.match(pair.fingerprint, /^[0-9a-f]{16}$/);
    assert.equal((await stat(pair.privateKeyFile)).mode & 0o777, 0o600);
    assert.match(await readFile(pair.publicKeyFile, 'utf8'), /^-----BEGIN PUBLIC KEY-----/);
    const again = await cli(['sign', 'keygen', '--key-id', 'release-2026', '--dir', dir]);
    assert.equal(again.exitCode, 1);
    assert.match(again.stderr, /release-2026\.key already exists/);
    const bad = await cli(['sign', 'keygen', '--key-id', 'Release 2026', '--dir', dir]);
    assert.match(bad.stderr, /--key-id Release 2026 is not a key name/);
  });

  it('signs "wasmfleet-module-signature/v1\\nsha256:<hex>\\n" with Ed25519: openssl verifies it with the .pub file', async () => {
    const r = await cli(['sign', wasm, '--key', path.join(dir, 'release-2026.key'), '-o', 'json']);
    assert.equal(r.exitCode, 0, r.stderr);
    const out = JSON.parse(r.stdout) as {
      sha256: string;
      keyId: string;
      signature: { keyId: string; ed25519: string };
    };
    assert.equal(out.sha256, SHA);
    assert.equal(out.signature.keyId, 'release-2026');
    const statement = path.join(dir, 'statement');
    const sig = path.join(dir, 'sig.bin');
    await writeFile(statement, `wasmfleet-module-signature/v1\nsha256:${SHA}\n`);
    await writeFile(sig, Buffer.from(out.signature.ed25519, 'base64'));
    const verified = await run('openssl', [
      ...['pkeyutl', '-verify', '-pubin', '-inkey', path.join(dir, 'release-2026.pub')],
      ...['-rawin', '-in', statement, '-sigfile', sig],
    ]);
    assert.match(verified.stdout, /Signature Verified Successfully/);
  });

  it('-o yaml prints the spec.module snippet; a non-Ed25519 key or a non-wasm file is refused with what to do', async () => {
    const yaml = await cli(['sign', wasm, '--key', path.join(dir, 'release-2026.key'), '-o', 'yaml']);
    assert.equal(yaml.exitCode, 0, yaml.stderr);
    assert.match(
      yaml.stdout,
      new RegExp(
        `^module:\\n  sha256: ${SHA}\\n  signatures:\\n    - keyId: release-2026\\n      ed25519: [A-Za-z0-9+/]{86}==$`,
        'm',
      ),
    );
    const ec = path.join(dir, 'ec.pem');
    await run('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', ec]);
    const wrong = await cli(['sign', wasm, '--key', ec, '--key-id', 'ci']);
    assert.equal(wrong.exitCode, 1);
    assert.match(wrong.stderr, /holds a key of type ec; module signatures use Ed25519/);
    const notWasm = path.join(dir, 'notes.txt');
    await writeFile(notWasm, 'hello');
    const refused = await cli(['sign', notWasm, '--key', path.join(dir, 'release-2026.key')]);
    assert.match(refused.stderr, /is not a WebAssembly binary/);
  });
});
