// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { functionYaml, startHarness, EMPTY_MODULE, type Harness } from './harness.ts';
import type { WasmFunction } from '@wasmfleet/api';

const condition = (fn: WasmFunction, type: string) => fn.status?.conditions?.find((c) => c.type === type);

describe('operator: bad module sources and dangling references get clear conditions', () => {
  let h: Harness;
  let server: Server;
  let base = '';
  before(async () => {
    h = await startHarness('op-bad');
    server = createServer((req, res) => {
      if (req.url === '/ok.wasm') res.end(Buffer.from(EMPTY_MODULE));
      else if (req.url === '/login.wasm') res.end('<!doctype html><html><body>Please log in</body></html>');
      else res.writeHead(404).end('not found');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    await h.device('a', { labels: { zone: 'z' } });
  });
  after(async () => {
    server.close();
    await h.close();
  });

  const okDigest = '8c20e8a4c5a2a1e2d3a0ae6bd67a9b93b5ca1b57ba0a8ef1ac4ac9c79f32b870';
  const cases: { name: string; module: Record<string, unknown>; reason: string; message: RegExp }[] = [
    {
      name: 'url-404',
      module: { url: '/missing.wasm', sha256: okDigest },
      reason: 'NotFound',
      message: /404/,
    },
    {
      name: 'url-digest',
      module: { url: '/ok.wasm', sha256: 'a'.repeat(64) },
      reason: 'DigestMismatch',
      message: /aaaaaaaa/,
    },
    {
      name: 'url-html',
      module: { url: '/login.wasm', sha256: okDigest },
      reason: 'NotWasm',
      message: /HTML/i,
    },
    {
      name: 'cm-missing',
      module: { configMap: { name: 'nope', key: 'module.wasm' } },
      reason: 'MissingReference',
      message: /nope/,
    },
  ];
  for (const c of cases) {
    it(`${c.name}: ModuleResolved=False reason ${c.reason}, Ready=False, phase Failed`, async () => {
      const module =
        typeof c.module.url === 'string' ? { ...c.module, url: `${base}${c.module.url}` } : c.module;
      await h.apply(functionYaml(c.name, { module, inputs: [{ topic: 'in/{node}' }] }));
      const fn = await h.waitForFunction(
        c.name,
        `ModuleResolved=False ${c.reason}`,
        (f) => condition(f, 'ModuleResolved')?.reason === c.reason,
      );
      assert.equal(condition(fn, 'ModuleResolved')?.status, 'False');
      assert.match(condition(fn, 'ModuleResolved')?.message ?? '', c.message);
      assert.equal(condition(fn, 'Ready')?.status, 'False');
      assert.equal(fn.status?.phase, 'Failed');
    });
  }

  it('a dangling configMapRef says which ConfigMap is missing, and resolves once it is created', async () => {
    await h.moduleConfigMap('mod');
    await h.apply(
      functionYaml('cfg', {
        module: { configMap: { name: 'mod', key: 'module.wasm' } },
        configMapRef: { name: 'settings' },
        inputs: [{ topic: 'in/{node}' }],
      }),
    );
    const fn = await h.waitForFunction(
      'cfg',
      'ConfigResolved=False',
      (f) => condition(f, 'ConfigResolved')?.status === 'False',
    );
    assert.equal(condition(fn, 'ConfigResolved')?.reason, 'ConfigMapNotFound');
    assert.match(condition(fn, 'ConfigResolved')?.message ?? '', /ConfigMap .*\/settings does not exist/);
    await h.plane.kubectl([
      'create',
      'configmap',
      'settings',
      '-n',
      h.namespace,
      '--from-literal=THRESHOLD=31',
    ]);
    await h.waitForFunction('cfg', 'Ready', (f) => f.status?.phase === 'Ready');
    assert.equal(h.devices[0]!.desired()?.functions.find((f) => f.name === 'cfg')?.config.THRESHOLD, '31');
  });

  it('a dangling secretRef says which Secret is missing', async () => {
    await h.apply(
      functionYaml('sec', {
        module: { configMap: { name: 'mod', key: 'module.wasm' } },
        secretRef: { name: 'creds' },
        inputs: [{ topic: 'in/{node}' }],
      }),
    );
    const fn = await h.waitForFunction(
      'sec',
      'ConfigResolved=False',
      (f) => condition(f, 'ConfigResolved')?.status === 'False',
    );
    assert.equal(condition(fn, 'ConfigResolved')?.reason, 'SecretNotFound');
  });
});
