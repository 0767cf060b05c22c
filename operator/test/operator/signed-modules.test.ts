// SPDX-License-Identifier: Apache-2.0
// Signed modules end to end with real parts: the API server and the operator, a real agent that
// requires signatures (--trusted-keys), real Mosquitto, a real registry, and the REAL cosign CLI
// (built from the Go module proxy, test-support/cosign) signing OCI artifacts offline (no tlog).
// The device decides; the operator only carries signature material and reports the verdict.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import {
  ensureCosignBinary,
  spawnManaged,
  startRegistry,
  waitFor,
  type ManagedProcess,
  type Registry,
} from '@wasmfleet/test-support';
import type { WasmFunction } from '@wasmfleet/api';
import { paddedModule } from '../../../agent/test/helpers/wasm.ts';
import { pushModule } from '@wasmfleet/oci';
import { functionYaml, startHarness, type Harness } from './harness.ts';

const run = promisify(execFile);
const AGENT_BIN = fileURLToPath(new URL('../../../agent/bin/wasmfleet-agent.js', import.meta.url));
const CLI_BIN = fileURLToPath(new URL('../../../cli/bin/wasmfleet.ts', import.meta.url));
const COSIGN_PASSWORD = 'test-only-cosign-password';

describe('signed modules: operator + a device that requires signatures + real cosign', () => {
  let h: Harness;
  let registry: Registry;
  let cosign: string;
  let dir: string;
  let node: string;
  let agent: ManagedProcess;
  let client: MqttClient;
  const outputs: string[] = [];

  /** Runs the real CLI (`wasmfleet …`) and returns stdout. */
  const wasmfleet = async (args: readonly string[]): Promise<string> =>
    (await run(process.execPath, [CLI_BIN, ...args], { env: { ...process.env, NO_COLOR: '1' } })).stdout;

  const cosignSign = (reference: string, ...extra: string[]) =>
    run(
      cosign,
      [
        ...['sign', '--yes', '--key', path.join(dir, 'cosign.key')],
        // Offline: no transparency log, no signing config (Rekor and Fulcio are unreachable).
        ...['--use-signing-config=false', '--tlog-upload=false'],
        ...['--allow-http-registry', '--allow-insecure-registry', ...extra, reference],
      ],
      { env: { ...process.env, COSIGN_PASSWORD }, cwd: dir },
    );

  const fnYaml = (name: string, module: Record<string, unknown>) =>
    functionYaml(name, {
      module,
      placement: { nodeSelector: { matchLabels: { signing: 'strict' } } },
      inputs: [{ topic: `sensors/{node}/${name}`, qos: 1, format: 'raw' }],
      outputs: [{ topic: `out/{node}/${name}`, qos: 1 }],
    });

  const failedOnDevice = (name: string, reason: string) =>
    h.waitForFunction(
      name,
      `refused by the device (${reason})`,
      (f) =>
        f.status?.conditions?.some(
          (c) => c.type === 'Ready' && c.status === 'False' && c.message.includes(`${reason} on 1 device`),
        ) ?? false,
      60_000,
    );

  const runsOnDevice = async (name: string): Promise<void> => {
    await h.waitForFunction(name, 'Ready 1/1', (f) => f.status?.ready === '1/1', 60_000);
    await client.publishAsync(`sensors/${node}/${name}`, `hello ${name}`, { qos: 1 });
    await waitFor('its output', () => (outputs.includes(`hello ${name}`) ? true : undefined), {
      timeoutMs: 20_000,
    });
  };

  before(async () => {
    h = await startHarness('signed');
    registry = await startRegistry();
    cosign = (await ensureCosignBinary()).cosign;
    dir = await mkdtemp(path.join(tmpdir(), 'signed-modules-'));
    await run(cosign, ['generate-key-pair'], { env: { ...process.env, COSIGN_PASSWORD }, cwd: dir });
    await wasmfleet(['sign', 'keygen', '--key-id', 'release-2026', '--dir', dir]);
    const trusted = path.join(dir, 'trusted');
    await mkdir(trusted);
    await copyFile(path.join(dir, 'release-2026.pub'), path.join(trusted, 'release-2026.pub'));
    await copyFile(path.join(dir, 'cosign.pub'), path.join(trusted, 'ci-cosign.pub'));

    node = h.nodeName('strict');
    await h.apply(
      `apiVersion: wasmfleet.io/v1alpha1\nkind: EdgeNode\nmetadata: { name: ${node}, labels: { wasmfleet.io/fleet: ${h.fleet}, signing: strict } }\nspec: {}\n`,
    );
    agent = spawnManaged(`agent ${node}`, process.execPath, {
      args: [
        AGENT_BIN,
        ...['--broker', h.broker.url, '--node', node, '--data-dir', path.join(dir, 'agent')],
        ...['--heartbeat', '1', '--trusted-keys', trusted],
      ],
      logFile: path.join(dir, 'agent.log'),
    });
    await waitFor(
      'the device Online',
      async () => ((await h.node(node)).status?.phase === 'Online' ? true : undefined),
      { timeoutMs: 30_000 },
    );
    client = await mqtt.connectAsync(h.broker.url, { protocolVersion: 5 });
    client.on('message', (_topic, payload) => outputs.push(payload.toString()));
    await client.subscribeAsync('out/#', { qos: 1 });
  });
  after(async () => {
    await agent.stop();
    await client.endAsync();
    await registry.stop();
    await h.close();
  });

  it('a module signed with `wasmfleet sign` runs; an unsigned one is refused by the device and the WasmFunction says why', async () => {
    const signedWasm = path.join(dir, 'signed.wasm');
    await writeFile(signedWasm, await paddedModule(300));
    await h.moduleConfigMap('signed-wasm', await paddedModule(300));
    const snippet = JSON.parse(
      await wasmfleet(['sign', signedWasm, '--key', path.join(dir, 'release-2026.key'), '-o', 'json']),
    ) as { signature: { keyId: string; ed25519: string } };
    await h.apply(
      fnYaml('signed', {
        configMap: { name: 'signed-wasm', key: 'module.wasm' },
        signatures: [snippet.signature],
      }),
    );
    await runsOnDevice('signed');

    await h.moduleConfigMap('unsigned-wasm', await paddedModule(301));
    await h.apply(fnYaml('unsigned', { configMap: { name: 'unsigned-wasm', key: 'module.wasm' } }));
    const refused = await failedOnDevice('unsigned', 'Unsigned');
    const row = refused.status?.nodes?.find((n) => n.node === node);
    assert.equal(row?.phase, 'Failed');
    assert.match(
      row.message ?? '',
      /carries no signature and this device runs only modules signed by one of its trusted keys \(ci-cosign, release-2026\)/,
    );
    const ready = refused.status?.conditions?.find((c) => c.type === 'Ready');
    // The reason by count, then the first failing device's own words.
    assert.match(
      ready?.message ?? '',
      /^0\/1 devices ready; Unsigned on 1 device; [a-z0-9-]+-strict: module sha256:[0-9a-f]{64} carries no signature/,
    );
    // The refusal is an Event too, what `kubectl describe` shows.
    await waitFor(
      'a Warning event naming the reason',
      async () => {
        const events = await h.plane.kubectl(['get', 'events', '-n', h.namespace, '-o', 'json']);
        const items = (
          JSON.parse(events.stdout) as {
            items: {
              regarding?: { name?: string };
              involvedObject?: { name?: string };
              note?: string;
              message?: string;
              type?: string;
            }[];
          }
        ).items;
        return items.some(
          (e) =>
            (e.regarding?.name ?? e.involvedObject?.name) === 'unsigned' &&
            e.type === 'Warning' &&
            (e.note ?? e.message ?? '').includes('Unsigned on 1 device'),
        )
          ? true
          : undefined;
      },
      { timeoutMs: 20_000 },
    );
    // …and the device keeps running everything else.
    outputs.length = 0;
    await runsOnDevice('signed');
  });

  it('a device whose agent predates signatures (agentVersion < 0.2.0) gets the signed function without them, so it can accept its document', async () => {
    const old = await h.device('old', { labels: { signing: 'legacy' } });
    const wasm = path.join(dir, 'for-old.wasm');
    await writeFile(wasm, await paddedModule(303));
    await h.moduleConfigMap('for-old-wasm', await paddedModule(303));
    const signed = JSON.parse(
      await wasmfleet(['sign', wasm, '--key', path.join(dir, 'release-2026.key'), '-o', 'json']),
    ) as { signature: { keyId: string; ed25519: string } };
    await h.apply(
      functionYaml('for-old', {
        module: { configMap: { name: 'for-old-wasm', key: 'module.wasm' }, signatures: [signed.signature] },
        placement: { nodeSelector: { matchLabels: { signing: 'legacy' } } },
        inputs: [{ topic: 'sensors/{node}/for-old' }],
      }),
    );
    const doc = await waitFor(
      'the old device told to run it',
      () => old.desired()?.functions.find((f) => f.name === 'for-old'),
      { timeoutMs: 30_000 },
    );
    assert.equal(doc.module.signatures, undefined);
    assert.equal(doc.revision, (await h.fn('for-old')).status?.updateRevision);
  });

  it('module.verify requires a signature by a named key: the operator refuses before delivering (ModuleResolved=False, Unsigned)', async () => {
    await h.moduleConfigMap('verify-wasm', await paddedModule(302));
    await h.apply(
      fnYaml('verify-required', {
        configMap: { name: 'verify-wasm', key: 'module.wasm' },
        verify: { keys: ['release-2026'] },
      }),
    );
    const f = await h.waitForFunction(
      'verify-required',
      'ModuleResolved=False Unsigned',
      (fn: WasmFunction) =>
        fn.status?.conditions?.some(
          (c) => c.type === 'ModuleResolved' && c.status === 'False' && c.reason === 'Unsigned',
        ) ?? false,
    );
    const c = f.status?.conditions?.find((x) => x.type === 'ModuleResolved');
    assert.match(
      c?.message ?? '',
      /module.verify requires a signature by one of the keys release-2026, but it has none: sign the module with `wasmfleet sign/,
    );
  });

  it('an OCI artifact signed by the real cosign runs: the Sigstore bundle (cosign 3 default) and the legacy .sig format', async () => {
    const bundled = await pushModule(`${registry.host}/acme/bundled:1.0`, await paddedModule(310));
    await cosignSign(bundled.reference);
    await h.apply(fnYaml('cosign-bundle', { oci: bundled.reference }));
    await runsOnDevice('cosign-bundle');

    const legacy = await pushModule(`${registry.host}/acme/legacy:1.0`, await paddedModule(311));
    await cosignSign(legacy.reference, '--new-bundle-format=false');
    await h.apply(fnYaml('cosign-legacy', { oci: legacy.reference }));
    await runsOnDevice('cosign-legacy');
  });

  it('a real cosign signature of ANOTHER artifact, copied next to this one in the registry, is refused by the device', async () => {
    const signed = await pushModule(`${registry.host}/acme/copied:good`, await paddedModule(320));
    await cosignSign(signed.reference, '--new-bundle-format=false');
    const other = await pushModule(`${registry.host}/acme/copied:evil`, await paddedModule(321));
    // Whoever can write to the registry puts the good artifact's signature under the evil one's tag.
    const base = `${registry.url}/v2/acme/copied/manifests`;
    const sig = await fetch(`${base}/${signed.digest.replace(':', '-')}.sig`, {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    assert.equal(sig.status, 200);
    const put = await fetch(`${base}/${other.digest.replace(':', '-')}.sig`, {
      method: 'PUT',
      headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
      body: new Uint8Array(await sig.arrayBuffer()),
    });
    assert.equal(put.status, 201);
    await h.apply(fnYaml('cosign-copied', { oci: other.reference }));
    const refused = await failedOnDevice('cosign-copied', 'SignatureInvalid');
    const row = refused.status?.nodes?.find((n) => n.node === node);
    assert.match(
      row?.message ?? '',
      new RegExp(
        `cosign signature by key ci-cosign \\([0-9a-f]{16}\\): the signature covers manifest ${signed.digest}, but the manifest delivered with the module is ${other.digest}`,
      ),
    );
  });
});
