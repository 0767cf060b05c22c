// SPDX-License-Identifier: Apache-2.0
// The pure cores of module resolution, without I/O: byte sniffing, OCI references, auth
// challenges, pull-secret parsing, manifest selection and the cache's eviction.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ModuleCache } from '../../src/modules/cache.ts';
import { decodeStrictBase64 } from '../../src/modules/configmap-source.ts';
import {
  credentialsFromDockerConfig,
  normalizeRegistryKey,
  parseChallenge,
} from '../../../oci/src/registry-auth.ts';
import { selectFromIndex, selectWasmLayer } from '../../../oci/src/artifact-manifest.ts';
import { manifestReference, parseOciReference } from '../../../oci/src/oci-reference.ts';
import { usesPlainHttp } from '../../../oci/src/registry-client.ts';
import { describeBytes, ModuleResolutionError, wasmKind, type ResolvedModule } from '@wasmfleet/oci';

const reasonOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    if (error instanceof ModuleResolutionError) return error.reason;
    throw error;
  }
  return 'no error';
};

describe('wasm sniffing', () => {
  it('knows core modules and components, and describes what is not wasm', () => {
    assert.equal(wasmKind(Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0])), 'module');
    assert.equal(wasmKind(Buffer.from([0, 0x61, 0x73, 0x6d, 0x0d, 0, 1, 0])), 'component');
    assert.equal(wasmKind(Buffer.from([0, 0x61, 0x73, 0x6d, 2, 0, 0, 0])), undefined);
    assert.match(
      describeBytes(Buffer.from([0, 0x61, 0x73, 0x6d, 2, 0, 0, 0])),
      /unsupported version \(02 00 00 00\)/,
    );
    assert.match(describeBytes(Buffer.from('  <html><title>x</title>')), /HTML page/);
    assert.match(describeBytes(Buffer.from('(module)')), /\.wat/);
    assert.match(describeBytes(Buffer.from('{"error":"nope"}')), /JSON/);
    assert.match(describeBytes(Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0])), /gzip/);
    assert.match(describeBytes(Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0])), /ELF/);
    assert.match(describeBytes(new Uint8Array(0)), /empty/);
  });

  it('accepts only strict base64 from ConfigMap data', () => {
    assert.deepEqual(decodeStrictBase64('AGFzbQEAAAA='), Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
    assert.deepEqual(decodeStrictBase64('AGFz\nbQEA\nAAA='), Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
    assert.equal(decodeStrictBase64('(module)'), undefined);
    assert.equal(decodeStrictBase64('AGFzbQEAAAA'), undefined); // missing padding
    assert.equal(decodeStrictBase64('AGFzbQEAAAB='), undefined); // non-canonical trailing bits
    assert.equal(decodeStrictBase64(''), undefined);
  });
});

describe('OCI references', () => {
  it('parses host, port, nested repositories, tags and digests', () => {
    const d = `sha256:${'a'.repeat(64)}`;
    assert.deepEqual(parseOciReference('registry.example/acme/temp-alert:1.4.0'), {
      registry: 'registry.example',
      repository: 'acme/temp-alert',
      tag: '1.4.0',
      digest: undefined,
    });
    assert.deepEqual(parseOciReference(`localhost:5000/a/b/c@${d}`), {
      registry: 'localhost:5000',
      repository: 'a/b/c',
      tag: undefined,
      digest: d,
    });
    const both = parseOciReference(`127.0.0.1:5000/fn:v1@${d}`);
    assert.equal(both.tag, 'v1');
    assert.equal(manifestReference(both), d, 'a digest wins over a tag');
    assert.equal(manifestReference(parseOciReference('r.example/fn')), 'latest');
  });

  it('refuses references without a registry host and malformed parts', () => {
    for (const bad of [
      'fn:1',
      'acme/fn:1',
      'oci://r.example/fn',
      'r.example/',
      'r.example/Fn',
      'r.example/fn:',
      'r.example/fn@sha256:xyz',
      'r.example/fn:-x',
    ]) {
      assert.equal(
        reasonOf(() => parseOciReference(bad)),
        'InvalidSource',
        bad,
      );
    }
  });

  it('uses plain HTTP for loopback and listed registries only', () => {
    assert.equal(usesPlainHttp('127.0.0.1:5000'), true);
    assert.equal(usesPlainHttp('localhost:5000'), true);
    assert.equal(usesPlainHttp('[::1]:5000'), true);
    assert.equal(usesPlainHttp('r.example'), false);
    assert.equal(usesPlainHttp('r.example:5000', ['r.example:5000']), true);
  });
});

describe('registry auth', () => {
  it('parses WWW-Authenticate challenges', () => {
    assert.deepEqual(
      parseChallenge(
        'Bearer realm="https://auth.example/token",service="reg",scope="repository:a/b:pull,push"',
      ),
      {
        scheme: 'bearer',
        params: { realm: 'https://auth.example/token', service: 'reg', scope: 'repository:a/b:pull,push' },
      },
    );
    assert.deepEqual(parseChallenge('Basic realm="basic-realm"'), {
      scheme: 'basic',
      params: { realm: 'basic-realm' },
    });
    assert.deepEqual(parseChallenge('Bearer realm=plain, error="insufficient_scope"'), {
      scheme: 'bearer',
      params: { realm: 'plain', error: 'insufficient_scope' },
    });
  });

  const dockerconfig = (auths: object): Record<string, string> => ({
    '.dockerconfigjson': Buffer.from(JSON.stringify({ auths })).toString('base64'),
  });

  it('finds credentials for a registry in a dockerconfigjson, however the key is written', () => {
    const t = 'kubernetes.io/dockerconfigjson';
    assert.equal(normalizeRegistryKey('https://R.example:5000/v1/'), 'r.example:5000');
    const auth = Buffer.from('u:p:with:colons').toString('base64');
    assert.deepEqual(
      credentialsFromDockerConfig(
        'ns/s',
        t,
        dockerconfig({ 'https://r.example:5000/v1/': { auth } }),
        'r.example:5000',
      ),
      {
        username: 'u',
        password: 'p:with:colons',
      },
    );
    assert.deepEqual(
      credentialsFromDockerConfig(
        'ns/s',
        t,
        dockerconfig({ 'r.example': { username: 'a', password: 'b' } }),
        'r.example',
      ),
      {
        username: 'a',
        password: 'b',
      },
    );
    assert.deepEqual(
      credentialsFromDockerConfig(
        'ns/s',
        t,
        dockerconfig({ 'r.example': { identitytoken: 'rt' } }),
        'r.example',
      ),
      {
        identityToken: 'rt',
      },
    );
    assert.equal(
      credentialsFromDockerConfig('ns/s', t, dockerconfig({ 'other.example': { auth } }), 'r.example'),
      undefined,
    );
    // Legacy .dockercfg: the auths map is the whole document.
    const legacy = {
      '.dockercfg': Buffer.from(JSON.stringify({ 'r.example': { auth } })).toString('base64'),
    };
    assert.deepEqual(credentialsFromDockerConfig('ns/s', 'kubernetes.io/dockercfg', legacy, 'r.example'), {
      username: 'u',
      password: 'p:with:colons',
    });
  });

  it('reports unusable pull secrets as InvalidSource', () => {
    assert.equal(
      reasonOf(() => credentialsFromDockerConfig('ns/s', 'Opaque', { password: 'eA==' }, 'r')),
      'InvalidSource',
    );
    assert.equal(
      reasonOf(() =>
        credentialsFromDockerConfig('ns/s', undefined, { '.dockerconfigjson': 'bm90IGpzb24=' }, 'r'),
      ),
      'InvalidSource',
    );
    assert.equal(
      reasonOf(() => credentialsFromDockerConfig('ns/s', undefined, dockerconfig({ r: {} }), 'r')),
      'InvalidSource',
    );
  });
});

describe('manifest selection', () => {
  const layer = (mediaType: string): { mediaType: string; digest: string; size: number } => ({
    mediaType,
    digest: `sha256:${'b'.repeat(64)}`,
    size: 8,
  });

  it('takes the first wasm layer of any accepted media type', () => {
    for (const t of [
      'application/wasm',
      'application/vnd.wasm.content.layer.v1+wasm',
      'application/vnd.module.wasm.content.layer.v1+wasm',
    ]) {
      const m = {
        kind: 'manifest' as const,
        artifactType: undefined,
        config: undefined,
        layers: [layer('text/plain'), layer(t)],
      };
      assert.equal(selectWasmLayer(m, 'x').mediaType, t);
    }
    const image = {
      kind: 'manifest' as const,
      artifactType: undefined,
      config: undefined,
      layers: [layer('application/vnd.oci.image.layer.v1.tar+gzip')],
    };
    assert.equal(
      reasonOf(() => selectWasmLayer(image, 'x')),
      'NotWasm',
    );
  });

  it('picks the wasm entry of an index, a lone entry, or refuses to guess', () => {
    const linux = { ...layer('m'), platform: { os: 'linux', architecture: 'amd64' } };
    const arm = { ...layer('m'), platform: { os: 'linux', architecture: 'arm64' } };
    const wasi = {
      ...layer('m'),
      digest: `sha256:${'c'.repeat(64)}`,
      platform: { os: 'wasip2', architecture: 'wasm' },
    };
    assert.equal(selectFromIndex([linux, wasi], 'x'), wasi);
    assert.equal(selectFromIndex([linux], 'x'), linux);
    assert.equal(
      reasonOf(() => selectFromIndex([linux, arm], 'x')),
      'NotWasm',
    );
  });
});

describe('ModuleCache', () => {
  const mod = (fill: number, size: number): ResolvedModule => ({
    sha256: String(fill).repeat(64).slice(0, 64),
    size,
    bytes: new Uint8Array(size).fill(fill),
    mediaType: 'application/wasm',
    kind: 'module',
  });

  it('keys by (source, digest), stores bytes once per sha256, and evicts least recently used', () => {
    const cache = new ModuleCache(100);
    const a = mod(1, 40);
    const b = mod(2, 40);
    cache.set('url x', 'd1', a);
    cache.set('url y', 'd1', a); // same bytes, another source: no extra bytes
    assert.equal(cache.stats().bytes, 40);
    assert.equal(cache.get('url x', 'd2'), undefined, 'another digest is another resolution');
    cache.set('url z', 'd1', b);
    assert.equal(cache.get('url x', 'd1'), a); // a is now most recently used
    cache.set('url w', 'd1', mod(3, 40)); // over budget: b goes
    assert.equal(cache.get('url z', 'd1'), undefined);
    assert.equal(cache.get('url y', 'd1'), a);
    assert.ok(cache.stats().bytes <= 100);
    cache.set('huge', 'd', mod(4, 101));
    assert.equal(cache.get('huge', 'd'), undefined, 'a module larger than the budget is not cached');
  });
});
