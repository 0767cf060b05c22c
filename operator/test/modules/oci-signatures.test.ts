// SPDX-License-Identifier: Apache-2.0
// Module resolution finds cosign signatures (signed by the real cosign) for devices, and a
// registry outage after they were found does not stop delivery: the last signatures found for the
// manifest are reused (regression: the first version looked them up on every resolution and
// turned a cached, digest-pinned module into `Unreachable` when the registry was down).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { before, describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { parseDesiredState } from '@wasmfleet/api';
import { ensureCosignBinary, sharedControlPlane, startRegistry } from '@wasmfleet/test-support';
import { pushModule } from '@wasmfleet/oci';
import {
  kubeReaderFromConfig,
  ModuleCache,
  resolveModule,
  type KubeReader,
} from '../../src/modules/index.ts';

const run = promisify(execFile);
const COSIGN_PASSWORD = 'test-only-cosign-password';
const WASM = Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 0, 5, 4, 0x73, 0x69, 0x67, 0x6e]);

describe('cosign signatures in module resolution', () => {
  let kube: KubeReader;
  let cosign: string;
  let dir: string;
  before(async () => {
    const cp = await sharedControlPlane();
    const kc = new KubeConfig();
    kc.loadFromFile(cp.kubeconfigPath);
    kube = kubeReaderFromConfig(kc);
    cosign = (await ensureCosignBinary()).cosign;
    dir = await mkdtemp(path.join(tmpdir(), 'oci-signatures-'));
    await run(cosign, ['generate-key-pair'], { env: { ...process.env, COSIGN_PASSWORD }, cwd: dir });
  });

  it('a registry outage after the signatures were found keeps delivering them, also when policy requires them', async () => {
    const registry = await startRegistry();
    let stopped = false;
    try {
      const pushed = await pushModule(`${registry.host}/acme/outage:1`, WASM);
      await run(
        cosign,
        [
          ...['sign', '--yes', '--key', 'cosign.key', '--use-signing-config=false', '--tlog-upload=false'],
          ...['--allow-http-registry', '--allow-insecure-registry', pushed.reference],
        ],
        { env: { ...process.env, COSIGN_PASSWORD }, cwd: dir },
      );
      const cache = new ModuleCache();
      const ctx = {
        namespace: 'default',
        kube,
        cache,
        timeoutMs: 10_000,
        signaturePolicy: 'Required' as const,
      };
      const online = await resolveModule({ oci: pushed.reference }, ctx);
      assert.ok(online.ok, JSON.stringify(online));
      assert.equal(online.signatures.length, 1);
      assert.ok('sigstoreBundle' in (online.signatures[0] ?? {}), 'cosign 3 attaches a Sigstore bundle');

      const unsigned = await pushModule(`${registry.host}/acme/outage:unsigned`, WASM.slice(0, 8));
      assert.ok(
        (await resolveModule({ oci: unsigned.reference }, { ...ctx, signaturePolicy: 'Optional' })).ok,
      );

      await registry.stop();
      stopped = true;
      const offline = await resolveModule({ oci: pushed.reference }, ctx);
      assert.ok(offline.ok && offline.cached, JSON.stringify(offline));
      assert.deepEqual(offline.signatures, online.signatures);
      // Never signed and now unreadable: Optional still delivers it, Required says why it cannot.
      assert.ok(
        (await resolveModule({ oci: unsigned.reference }, { ...ctx, signaturePolicy: 'Optional' })).ok,
      );
      const required = await resolveModule({ oci: unsigned.reference }, ctx);
      assert.equal(required.ok ? '' : required.failure.reason, 'Unreachable');
    } finally {
      if (!stopped) await registry.stop();
    }
  });
});

describe('malformed signature material in the registry', () => {
  it('is dropped, never delivered: one bad entry would make devices reject their whole desired document', async () => {
    const cp = await sharedControlPlane();
    const kc = new KubeConfig();
    kc.loadFromFile(cp.kubeconfigPath);
    const registry = await startRegistry();
    try {
      const pushed = await pushModule(`${registry.host}/acme/garbage:1`, WASM);
      const manifest = (await (
        await fetch(`${registry.url}/v2/acme/garbage/manifests/${pushed.digest}`, {
          headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
        })
      ).json()) as { layers: { digest: string; size: number }[] };
      const layer = manifest.layers[0];
      assert.ok(layer);
      // A `.sig` manifest whose signature annotation is not base64 (its payload blob exists).
      const sig = {
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: {
          mediaType: 'application/vnd.oci.image.config.v1+json',
          digest: layer.digest,
          size: layer.size,
        },
        layers: [
          {
            mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json',
            digest: layer.digest,
            size: layer.size,
            annotations: { 'dev.cosignproject.cosign/signature': 'not base64 at all!' },
          },
        ],
      };
      const put = await fetch(
        `${registry.url}/v2/acme/garbage/manifests/${pushed.digest.replace(':', '-')}.sig`,
        {
          method: 'PUT',
          headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
          body: JSON.stringify(sig),
        },
      );
      assert.equal(put.status, 201);
      const resolved = await resolveModule(
        { oci: pushed.reference },
        { namespace: 'default', kube: kubeReaderFromConfig(kc), timeoutMs: 10_000 },
      );
      assert.ok(resolved.ok, JSON.stringify(resolved));
      assert.deepEqual(resolved.signatures, []);
      const desired = {
        version: 1,
        node: 'n1',
        generation: 1,
        functions: [
          {
            ...{
              namespace: 'ns',
              name: 'f',
              revision: 'r1',
              inputs: [{ topic: 't', qos: 1, format: 'raw' }],
            },
            ...{ outputs: [], config: {}, limits: { memoryBytes: 65_536, timeoutMs: 10 } },
            module: {
              sha256: resolved.module.sha256,
              size: resolved.module.size,
              ...(resolved.signatures.length > 0 ? { signatures: resolved.signatures } : {}),
            },
          },
        ],
      };
      assert.ok(parseDesiredState(JSON.stringify(desired)).ok);
    } finally {
      await registry.stop();
    }
  });
});
