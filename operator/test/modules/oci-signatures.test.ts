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
import { ensureCosignBinary, sharedControlPlane, startRegistry } from '@wasmfleet/test-support';
import {
  kubeReaderFromConfig,
  ModuleCache,
  pushModule,
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
