// SPDX-License-Identifier: Apache-2.0
// module.configMap against a real kube-apiserver, read through the real client-node reader:
// binaryData (the normal place), base64 text in data (accepted), anything else in data (NotWasm
// with a hint), and dangling references named precisely.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { sharedControlPlane, uniqueName, type ControlPlane } from '@wasmfleet/test-support';
import {
  kubeReaderFromConfig,
  resolveModule,
  type KubeReader,
  type ResolveResult,
} from '../../src/modules/index.ts';

const WASM = Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
// The same module plus a custom section "x" holding ff fe: no longer valid UTF-8, like real modules.
const BINARY_WASM = Buffer.concat([WASM, Buffer.from([0x00, 0x04, 0x01, 0x78, 0xff, 0xfe])]);
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

function failure(result: ResolveResult): { reason: string; message: string; retryable: boolean } {
  if (result.ok) assert.fail(`expected a failure, got a module with sha256 ${result.module.sha256}`);
  return result.failure;
}

describe('module.configMap on a real API server', () => {
  let cp: ControlPlane;
  let ns: string;
  let kube: KubeReader;
  let scratch: string;

  const kubectl = async (args: string[], stdin?: string): Promise<string> => {
    const r = await cp.kubectl(['-n', ns, ...args], stdin === undefined ? {} : { stdin });
    assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };

  before(async () => {
    cp = await sharedControlPlane();
    ns = uniqueName('modules-configmap');
    const created = await cp.kubectl(['create', 'namespace', ns]);
    assert.equal(created.code, 0, created.stderr);
    const kc = new KubeConfig();
    kc.loadFromFile(cp.kubeconfigPath);
    kube = kubeReaderFromConfig(kc);
    scratch = await mkdtemp(path.join(tmpdir(), 'wasmfleet-cm-test-'));
  });

  after(async () => {
    await cp.kubectl(['delete', 'namespace', ns, '--wait=false']);
    await rm(scratch, { recursive: true, force: true });
  });

  it('reads a module that kubectl --from-file put in binaryData', async () => {
    const file = path.join(scratch, 'module.wasm');
    await writeFile(file, BINARY_WASM);
    await kubectl(['create', 'configmap', 'fn-wasm', `--from-file=module.wasm=${file}`]);
    const stored = JSON.parse(await kubectl(['get', 'configmap', 'fn-wasm', '-o', 'json'])) as {
      binaryData?: Record<string, string>;
    };
    assert.ok(stored.binaryData?.['module.wasm'], 'kubectl stores a non-UTF-8 file in binaryData');

    const result = await resolveModule(
      { configMap: { name: 'fn-wasm', key: 'module.wasm' } },
      { namespace: ns, kube },
    );
    assert.ok(result.ok, JSON.stringify(result));
    assert.deepEqual(Buffer.from(result.module.bytes), BINARY_WASM);
    assert.equal(result.module.sha256, sha(BINARY_WASM));
    assert.equal(result.module.kind, 'module');

    const pinned = await resolveModule(
      { configMap: { name: 'fn-wasm', key: 'module.wasm' }, sha256: sha(BINARY_WASM) },
      { namespace: ns, kube },
    );
    assert.ok(pinned.ok);
    const wrongPin = failure(
      await resolveModule(
        { configMap: { name: 'fn-wasm', key: 'module.wasm' }, sha256: 'b'.repeat(64) },
        { namespace: ns, kube },
      ),
    );
    assert.equal(wrongPin.reason, 'DigestMismatch');
    assert.ok(
      wrongPin.message.includes('b'.repeat(64)) && wrongPin.message.includes(sha(BINARY_WASM)),
      wrongPin.message,
    );
  });

  it('reads a module that kubectl --from-file put in data because it happened to be valid UTF-8', async () => {
    const file = path.join(scratch, 'tiny.wasm');
    await writeFile(file, WASM);
    await kubectl(['create', 'configmap', 'tiny-wasm', `--from-file=module.wasm=${file}`]);
    const stored = JSON.parse(await kubectl(['get', 'configmap', 'tiny-wasm', '-o', 'json'])) as {
      data?: Record<string, string>;
    };
    assert.equal(
      stored.data?.['module.wasm'],
      WASM.toString('utf8'),
      'kubectl stores a UTF-8-clean file as text in data',
    );

    const result = await resolveModule(
      { configMap: { name: 'tiny-wasm', key: 'module.wasm' } },
      { namespace: ns, kube },
    );
    assert.ok(result.ok, JSON.stringify(result));
    assert.deepEqual(Buffer.from(result.module.bytes), WASM);
    assert.equal(result.module.sha256, sha(WASM));
  });

  it('accepts base64 text in data, and reports other text in data as NotWasm', async () => {
    await kubectl(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'text-data', namespace: ns },
        data: { 'b64.wasm': WASM.toString('base64'), 'fn.wat': '(module\n  (func (export "handle")))\n' },
      }),
    );
    const ok = await resolveModule(
      { configMap: { name: 'text-data', key: 'b64.wasm' } },
      { namespace: ns, kube },
    );
    assert.ok(ok.ok, JSON.stringify(ok));
    assert.deepEqual(Buffer.from(ok.module.bytes), WASM);

    const wat = failure(
      await resolveModule({ configMap: { name: 'text-data', key: 'fn.wat' } }, { namespace: ns, kube }),
    );
    assert.equal(wat.reason, 'NotWasm');
    assert.match(wat.message, /data\["fn\.wat"\]/);
    assert.match(wat.message, /WebAssembly text \(\.wat\)/);
  });

  it('a missing ConfigMap or key → MissingReference naming it', async () => {
    const noMap = failure(
      await resolveModule({ configMap: { name: 'nope', key: 'module.wasm' } }, { namespace: ns, kube }),
    );
    assert.equal(noMap.reason, 'MissingReference');
    assert.ok(noMap.message.includes(`ConfigMap ${ns}/nope`), noMap.message);
    assert.match(noMap.message, /does not exist/);
    assert.equal(noMap.retryable, false);

    const noKey = failure(
      await resolveModule({ configMap: { name: 'fn-wasm', key: 'other.wasm' } }, { namespace: ns, kube }),
    );
    assert.equal(noKey.reason, 'MissingReference');
    assert.match(noKey.message, /no key "other\.wasm"/);
    assert.match(noKey.message, /keys present: module\.wasm/);
  });

  it('follows an edit of the ConfigMap under an unchanged spec', async () => {
    const bigger = Buffer.concat([WASM, Buffer.from([0x00, 0x00])]); // one empty custom section
    await kubectl(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'edited', namespace: ns },
        binaryData: { m: WASM.toString('base64') },
      }),
    );
    const first = await resolveModule({ configMap: { name: 'edited', key: 'm' } }, { namespace: ns, kube });
    await kubectl(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'edited', namespace: ns },
        binaryData: { m: bigger.toString('base64') },
      }),
    );
    const second = await resolveModule({ configMap: { name: 'edited', key: 'm' } }, { namespace: ns, kube });
    assert.ok(first.ok && second.ok);
    assert.equal(first.module.sha256, sha(WASM));
    assert.equal(second.module.sha256, sha(bigger));
  });

  it('a size limit applies to ConfigMaps too', async () => {
    const f = failure(
      await resolveModule(
        { configMap: { name: 'fn-wasm', key: 'module.wasm' } },
        { namespace: ns, kube, maxBytes: 8 },
      ),
    );
    assert.equal(f.reason, 'TooLarge');
  });

  it('an operator without RBAC to read ConfigMaps → Unauthorized saying so', async () => {
    await kubectl(['create', 'serviceaccount', 'no-rights']);
    const token = (await kubectl(['create', 'token', 'no-rights', '--duration=10m'])).trim();
    const kc = new KubeConfig();
    kc.loadFromFile(await cp.writeKubeconfig(`${ns}-no-rights`, token));
    const f = failure(
      await resolveModule(
        { configMap: { name: 'fn-wasm', key: 'module.wasm' } },
        { namespace: ns, kube: kubeReaderFromConfig(kc) },
      ),
    );
    assert.equal(f.reason, 'Unauthorized');
    assert.match(f.message, /not allowed to read ConfigMap/);
    assert.match(f.message, /RBAC/);
  });

  it('an API server that cannot be reached → Unreachable, retryable', async () => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'gone', server: 'https://127.0.0.1:1', skipTLSVerify: true }],
      users: [{ name: 'u', token: 'x' }],
      contexts: [{ name: 'gone', cluster: 'gone', user: 'u' }],
      currentContext: 'gone',
    });
    const f = failure(
      await resolveModule(
        { configMap: { name: 'fn-wasm', key: 'module.wasm' } },
        { namespace: ns, kube: kubeReaderFromConfig(kc) },
      ),
    );
    assert.equal(f.reason, 'Unreachable');
    assert.equal(f.retryable, true);
    assert.ok(f.message.includes(`ConfigMap ${ns}/fn-wasm`), f.message);
  });
});
