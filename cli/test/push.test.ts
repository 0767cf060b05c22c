// SPDX-License-Identifier: Apache-2.0
// `wasmfleet push` into a ConfigMap on a real API server and to a real OCI registry
// (docker-registry), including what it says about files that are not wasm or too big.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startRegistry, type ControlPlane, type Registry } from '@wasmfleet/test-support';
import { cli, namespaceFor, sharedControlPlane } from './helpers.ts';

// The smallest valid core module (magic + version), plus a custom section so it is not trivial.
const MODULE = Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 0, 4, 3, 0x61, 0x62, 0x63]);
const SHA = createHash('sha256').update(MODULE).digest('hex');

describe('wasmfleet push', () => {
  let plane: ControlPlane;
  let ns: string;
  let dir: string;
  let wasm: string;
  const run = (args: readonly string[], stdin?: string) =>
    cli([...args, '-n', ns], plane.kubeconfigPath, {}, stdin === undefined ? {} : { stdin });

  before(async () => {
    plane = await sharedControlPlane();
    ns = await namespaceFor(plane, 'cli-push');
    dir = await mkdtemp(path.join(tmpdir(), 'cli-push-'));
    wasm = path.join(dir, 'Temp_Alert.wasm');
    await writeFile(wasm, MODULE);
  });

  it('--configmap stores binaryData, prints the digest and a WasmFunction the API server accepts', async () => {
    const r = await run(['push', wasm, '--configmap', 'temp-alert-wasm']);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^# sha256: ${SHA}$`, 'm'));
    assert.match(r.stdout, /^# size: 14 bytes \(core module\)$/m);
    const stored = await plane.kubectl([
      'get',
      'configmap',
      'temp-alert-wasm',
      '-n',
      ns,
      '-o',
      'jsonpath={.binaryData.module\\.wasm}',
    ]);
    assert.deepEqual(Buffer.from(stored.stdout, 'base64'), Buffer.from(MODULE));
    // The printed manifest applies as is (server-side dry run through the CLI).
    const manifest = path.join(dir, 'fn.yaml');
    await writeFile(manifest, r.stdout);
    const applied = await run(['apply', '-f', manifest, '--dry-run']);
    assert.equal(applied.exitCode, 0, applied.stderr);
    assert.equal(applied.stdout.trim(), 'wasmfunction.wasmfleet.io/temp-alert created (server dry run)');
  });

  it('refuses a file that is not wasm, saying what it looks like', async () => {
    const html = path.join(dir, 'login.wasm');
    await writeFile(html, '<!DOCTYPE html><html><body>Sign in</body></html>');
    const r = await run(['push', html, '--configmap', 'x']);
    assert.equal(r.exitCode, 1);
    assert.match(r.stderr, /login\.wasm is not a WebAssembly binary: it looks like an HTML page/);
    assert.match(r.stderr, /hint: a \.wasm file starts with 00 61 73 6d/);
  });

  it('refuses more than a ConfigMap holds and suggests --oci; asks where to push', async () => {
    const big = path.join(dir, 'big.wasm');
    await writeFile(big, Buffer.concat([Buffer.from(MODULE.subarray(0, 8)), Buffer.alloc(1024 * 1024)]));
    const r = await run(['push', big, '--configmap', 'big']);
    assert.equal(r.exitCode, 1);
    assert.match(
      r.stderr,
      /big\.wasm is 1048584 bytes, more than a ConfigMap holds \(1 MiB\)\nhint: push it to an OCI registry instead: --oci/,
    );
    const neither = await run(['push', wasm]);
    assert.match(neither.stderr, /say where to push: --configmap NAME or --oci REF/);
  });

  describe('--oci against a real registry', () => {
    let registry: Registry;
    let secured: Registry;
    before(async () => {
      registry = await startRegistry();
      secured = await startRegistry({ htpasswd: { user: 'ci', password: 's3cret' } });
    });
    after(async () => {
      await registry.stop();
      await secured.stop();
    });

    it('pushes a wasm artifact and prints the digest the registry serves', async () => {
      const r = await run(['push', wasm, '--oci', `${registry.host}/acme/temp-alert:1.0.0`, '-o', 'json']);
      assert.equal(r.exitCode, 0, r.stderr);
      const out = JSON.parse(r.stdout) as { sha256: string; module: { oci: string; sha256: string } };
      assert.equal(out.sha256, SHA);
      const response = await fetch(`${registry.url}/v2/acme/temp-alert/manifests/1.0.0`, {
        headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
      });
      const served = response.headers.get('docker-content-digest');
      const manifest = (await response.json()) as { layers: { digest: string }[] };
      assert.equal(out.module.oci, `${registry.host}/acme/temp-alert@${served ?? ''}`);
      assert.equal(manifest.layers[0]?.digest, `sha256:${SHA}`);
    });

    it('asks for credentials when the registry wants them, and uses --password-stdin', async () => {
      const ref = `${secured.host}/acme/temp-alert:1.0.0`;
      const denied = await run(['push', wasm, '--oci', ref]);
      assert.equal(denied.exitCode, 1);
      assert.match(
        denied.stderr,
        /pushing to .* failed:[\s\S]*hint: the registry wants credentials: pass --username and --password-stdin/,
      );
      const ok = await run(['push', wasm, '--oci', ref, '--username', 'ci', '--password-stdin'], 's3cret\n');
      assert.equal(ok.exitCode, 0, ok.stderr);
      assert.match(ok.stdout, /^# manifest digest: sha256:[0-9a-f]{64}$/m);
      assert.match(ok.stdout, new RegExp(`oci: ${secured.host}/acme/temp-alert@sha256:`));
    });
  });
});
