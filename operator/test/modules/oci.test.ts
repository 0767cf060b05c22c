// SPDX-License-Identifier: Apache-2.0
// module.oci against a REAL registry (Debian's docker-registry, distribution v2): pushModule
// uploads, resolveModule pulls back — anonymously, with a dockerconfigjson pull Secret from the
// real API server over Basic auth, and over the Bearer token flow with a token service.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes, sign, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { freePort, sharedControlPlane, uniqueName, type ControlPlane } from '@wasmfleet/test-support';
// Not yet re-exported from @wasmfleet/test-support's index.
import { startRegistry, type Registry } from '../../../test-support/src/registry.ts';
import { ModuleResolutionError, pushModule } from '@wasmfleet/oci';
import {
  kubeReaderFromConfig,
  ModuleCache,
  resolveModule,
  type KubeReader,
  type ResolveResult,
} from '../../src/modules/index.ts';

const WASM = Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
/** Another valid module (an empty custom section "v2"), for "the tag moved". */
const WASM_V2 = Buffer.concat([WASM, Buffer.from([0x00, 0x03, 0x02, 0x76, 0x32])]);
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

function failure(result: ResolveResult): { reason: string; message: string; retryable: boolean } {
  if (result.ok) assert.fail(`expected a failure, got a module with sha256 ${result.module.sha256}`);
  return result.failure;
}

/** Uploads a blob the plain way (anonymous registry), for artifacts pushModule would never write. */
async function rawBlob(
  registry: Registry,
  repo: string,
  blob: Uint8Array,
): Promise<{ digest: string; size: number }> {
  const digest = `sha256:${sha(blob)}`;
  const start = await fetch(`${registry.url}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  assert.equal(start.status, 202);
  const target = new URL(start.headers.get('location') ?? '', registry.url);
  target.searchParams.set('digest', digest);
  const put = await fetch(target, {
    method: 'PUT',
    body: blob,
    headers: { 'content-type': 'application/octet-stream' },
  });
  assert.equal(put.status, 201, await put.text());
  return { digest, size: blob.byteLength };
}

async function rawManifest(
  registry: Registry,
  repo: string,
  tag: string,
  manifest: object,
  mediaType: string,
): Promise<string> {
  const body = Buffer.from(JSON.stringify(manifest));
  const put = await fetch(`${registry.url}/v2/${repo}/manifests/${tag}`, {
    method: 'PUT',
    body,
    headers: { 'content-type': mediaType },
  });
  assert.equal(put.status, 201, await put.text());
  return `sha256:${sha(body)}`;
}

async function rawImage(
  registry: Registry,
  repo: string,
  tag: string,
  layer: Uint8Array,
  layerType: string,
): Promise<string> {
  const config = await rawBlob(registry, repo, Buffer.from('{}'));
  const l = await rawBlob(registry, repo, layer);
  return rawManifest(
    registry,
    repo,
    tag,
    {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: [{ mediaType: layerType, ...l }],
    },
    'application/vnd.oci.image.manifest.v1+json',
  );
}

describe('module.oci against a real registry', () => {
  let cp: ControlPlane;
  let ns: string;
  let kube: KubeReader;
  let anon: Registry;
  let basic: Registry;
  const user = 'fleet';
  const password = randomBytes(9).toString('base64url');

  const kubectl = async (args: string[]): Promise<void> => {
    const r = await cp.kubectl(['-n', ns, ...args]);
    assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
  };
  const ctx = (): { namespace: string; kube: KubeReader; timeoutMs: number } => ({
    namespace: ns,
    kube,
    timeoutMs: 15_000,
  });

  before(async () => {
    [cp, anon, basic] = await Promise.all([
      sharedControlPlane(),
      startRegistry(),
      startRegistry({ htpasswd: { user, password } }),
    ]);
    ns = uniqueName('modules-oci');
    const created = await cp.kubectl(['create', 'namespace', ns]);
    assert.equal(created.code, 0, created.stderr);
    const kc = new KubeConfig();
    kc.loadFromFile(cp.kubeconfigPath);
    kube = kubeReaderFromConfig(kc);
  });

  after(async () => {
    await Promise.allSettled([
      anon.stop(),
      basic.stop(),
      cp.kubectl(['delete', 'namespace', ns, '--wait=false']),
    ]);
  });

  describe('anonymous', () => {
    it('pushModule writes a wasm OCI artifact, and resolveModule pulls it by tag and by digest', async () => {
      const pushed = await pushModule(`${anon.host}/acme/temp-alert:1.0.0`, WASM);
      assert.match(pushed.digest, /^sha256:[0-9a-f]{64}$/);
      assert.equal(pushed.reference, `${anon.host}/acme/temp-alert@${pushed.digest}`);
      assert.equal(pushed.sha256, sha(WASM));

      // What the registry holds is the wasm artifact layout, byte for byte what push reported.
      const response = await fetch(`${anon.url}/v2/acme/temp-alert/manifests/1.0.0`, {
        headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
      });
      const raw = Buffer.from(await response.arrayBuffer());
      assert.equal(`sha256:${sha(raw)}`, pushed.digest);
      const manifest = JSON.parse(raw.toString()) as {
        artifactType: string;
        config: { mediaType: string };
        layers: { mediaType: string; digest: string; size: number }[];
      };
      assert.equal(manifest.artifactType, 'application/vnd.wasm.config.v0+json');
      assert.equal(manifest.config.mediaType, 'application/vnd.wasm.config.v0+json');
      assert.deepEqual(manifest.layers, [
        { mediaType: 'application/wasm', digest: `sha256:${sha(WASM)}`, size: 8 },
      ]);

      for (const oci of [`${anon.host}/acme/temp-alert:1.0.0`, pushed.reference]) {
        const result = await resolveModule({ oci }, ctx());
        assert.ok(result.ok, JSON.stringify(result));
        assert.deepEqual(Buffer.from(result.module.bytes), WASM);
        assert.equal(result.module.sha256, sha(WASM));
        assert.equal(result.module.mediaType, 'application/wasm');
      }
      // Same bytes, same manifest: pushing again is reproducible.
      assert.equal((await pushModule(`${anon.host}/acme/temp-alert:again`, WASM)).digest, pushed.digest);
    });

    it('caches by (source, digest): a tag costs a manifest request, a digest reference nothing', async () => {
      const local = await startRegistry();
      try {
        const cache = new ModuleCache();
        const pushed = await pushModule(`${local.host}/acme/cached:1`, WASM);
        const byTag = { oci: `${local.host}/acme/cached:1` };
        const first = await resolveModule(byTag, { ...ctx(), cache });
        const second = await resolveModule(byTag, { ...ctx(), cache });
        assert.ok(first.ok && second.ok);
        assert.equal(first.cached, false);
        assert.equal(second.cached, true);

        // The tag moves: the manifest digest changes, so the new module is pulled.
        await pushModule(`${local.host}/acme/cached:1`, WASM_V2);
        const moved = await resolveModule(byTag, { ...ctx(), cache });
        assert.ok(moved.ok);
        assert.equal(moved.cached, false);
        assert.equal(moved.module.sha256, sha(WASM_V2));

        // A digest reference that resolved once needs no registry at all afterwards.
        const byDigest = { oci: pushed.reference };
        assert.ok((await resolveModule(byDigest, { ...ctx(), cache })).ok);
        await local.stop();
        const offline = await resolveModule(byDigest, { ...ctx(), cache });
        assert.ok(offline.ok && offline.cached, JSON.stringify(offline));
        assert.equal(failure(await resolveModule(byTag, { ...ctx(), cache })).reason, 'Unreachable');
      } finally {
        await local.stop();
      }
    });

    it('an unknown tag, repository or digest → NotFound', async () => {
      await pushModule(`${anon.host}/acme/known:1`, WASM);
      const tag = failure(await resolveModule({ oci: `${anon.host}/acme/known:2` }, ctx()));
      assert.equal(tag.reason, 'NotFound');
      assert.match(tag.message, /no tag "2" in repository acme\/known/);
      assert.match(tag.message, /MANIFEST_UNKNOWN/);
      const repo = failure(await resolveModule({ oci: `${anon.host}/acme/never-pushed:1` }, ctx()));
      assert.equal(repo.reason, 'NotFound');
      const digest = failure(
        await resolveModule({ oci: `${anon.host}/acme/known@sha256:${'0'.repeat(64)}` }, ctx()),
      );
      assert.equal(digest.reason, 'NotFound');
    });

    it('a container image, or a wasm layer holding HTML → NotWasm saying what it is', async () => {
      await rawImage(
        anon,
        'acme/not-wasm',
        'image',
        Buffer.from([0x1f, 0x8b, 0x08, 0x00]),
        'application/vnd.oci.image.layer.v1.tar+gzip',
      );
      const image = failure(await resolveModule({ oci: `${anon.host}/acme/not-wasm:image` }, ctx()));
      assert.equal(image.reason, 'NotWasm');
      assert.match(image.message, /no wasm layer/);
      assert.match(image.message, /container image/);

      await rawImage(
        anon,
        'acme/not-wasm',
        'html',
        Buffer.from('<html><body>502 Bad Gateway</body></html>'),
        'application/wasm',
      );
      const html = failure(await resolveModule({ oci: `${anon.host}/acme/not-wasm:html` }, ctx()));
      assert.equal(html.reason, 'NotWasm');
      assert.match(html.message, /HTML page/);
    });

    it('accepts the layer media type other wasm tools write, and picks the wasm entry of an index', async () => {
      const legacy = 'application/vnd.module.wasm.content.layer.v1+wasm';
      const manifestDigest = await rawImage(anon, 'acme/other-tool', 'v1', WASM_V2, legacy);
      const result = await resolveModule({ oci: `${anon.host}/acme/other-tool:v1` }, ctx());
      assert.ok(result.ok, JSON.stringify(result));
      assert.equal(result.module.mediaType, legacy);
      assert.equal(result.module.sha256, sha(WASM_V2));

      const imageDigest = await rawImage(
        anon,
        'acme/other-tool',
        'linux',
        Buffer.from([0x1f, 0x8b]),
        'application/vnd.oci.image.layer.v1.tar+gzip',
      );
      const size = async (d: string): Promise<number> =>
        (
          await fetch(`${anon.url}/v2/acme/other-tool/manifests/${d}`, {
            headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
          })
        )
          .arrayBuffer()
          .then((b) => b.byteLength);
      await rawManifest(
        anon,
        'acme/other-tool',
        'multi',
        {
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.index.v1+json',
          manifests: [
            {
              mediaType: 'application/vnd.oci.image.manifest.v1+json',
              digest: imageDigest,
              size: await size(imageDigest),
              platform: { os: 'linux', architecture: 'amd64' },
            },
            {
              mediaType: 'application/vnd.oci.image.manifest.v1+json',
              digest: manifestDigest,
              size: await size(manifestDigest),
              platform: { os: 'wasip1', architecture: 'wasm' },
            },
          ],
        },
        'application/vnd.oci.image.index.v1+json',
      );
      const fromIndex = await resolveModule({ oci: `${anon.host}/acme/other-tool:multi` }, ctx());
      assert.ok(fromIndex.ok, JSON.stringify(fromIndex));
      assert.equal(fromIndex.module.sha256, sha(WASM_V2));
    });

    it('a layer over the size limit → TooLarge before the blob is downloaded', async () => {
      await pushModule(`${anon.host}/acme/big:1`, WASM_V2);
      const f = failure(await resolveModule({ oci: `${anon.host}/acme/big:1` }, { ...ctx(), maxBytes: 8 }));
      assert.equal(f.reason, 'TooLarge');
      assert.match(f.message, /wasm layer is 13 B/);
    });

    it('module.sha256 pins the module: a tag that moved → DigestMismatch with both digests', async () => {
      await pushModule(`${anon.host}/acme/pinned:1`, WASM);
      const good = await resolveModule({ oci: `${anon.host}/acme/pinned:1`, sha256: sha(WASM) }, ctx());
      assert.ok(good.ok);
      await pushModule(`${anon.host}/acme/pinned:1`, WASM_V2);
      const f = failure(await resolveModule({ oci: `${anon.host}/acme/pinned:1`, sha256: sha(WASM) }, ctx()));
      assert.equal(f.reason, 'DigestMismatch');
      assert.ok(f.message.includes(sha(WASM)) && f.message.includes(sha(WASM_V2)), f.message);
    });

    it('bad references → InvalidSource; a registry that is down → Unreachable', async () => {
      for (const [oci, message] of [
        ['acme/fn:1', /not a registry host/],
        [`oci://${anon.host}/acme/fn:1`, /without a scheme/],
        [`${anon.host}/Acme/fn:1`, /not a valid repository/],
        [`${anon.host}/acme/fn@sha256:abc`, /sha256:<64 lowercase hex>/],
      ] as const) {
        const f = failure(await resolveModule({ oci }, ctx()));
        assert.equal(f.reason, 'InvalidSource', oci);
        assert.match(f.message, message);
      }
      const down = failure(await resolveModule({ oci: `127.0.0.1:${await freePort()}/acme/fn:1` }, ctx()));
      assert.equal(down.reason, 'Unreachable');
      assert.match(down.message, /connection refused/);
      assert.equal(down.retryable, true);
    });
  });

  describe('with credentials (htpasswd, Basic auth)', () => {
    const secret = async (name: string, server: string, pw: string): Promise<void> =>
      kubectl([
        'create',
        'secret',
        'docker-registry',
        name,
        `--docker-server=${server}`,
        `--docker-username=${user}`,
        `--docker-password=${pw}`,
      ]);

    before(async () => {
      await pushModule(`${basic.host}/acme/private:1`, WASM, { username: user, password });
      await secret('regcred', basic.host, password);
      await secret('regcred-wrong', basic.host, 'not-the-password');
      await secret('regcred-elsewhere', anon.host, password);
    });

    it('pulls with a kubernetes.io/dockerconfigjson pull secret', async () => {
      const result = await resolveModule(
        { oci: `${basic.host}/acme/private:1`, pullSecretRef: { name: 'regcred' } },
        ctx(),
      );
      assert.ok(result.ok, JSON.stringify(result));
      assert.deepEqual(Buffer.from(result.module.bytes), WASM);
    });

    it('anonymous → Unauthorized asking for a pull secret', async () => {
      const f = failure(await resolveModule({ oci: `${basic.host}/acme/private:1` }, ctx()));
      assert.equal(f.reason, 'Unauthorized');
      assert.match(f.message, /requires credentials/);
      assert.match(f.message, /pullSecretRef/);
    });

    it('a wrong password → Unauthorized naming the user and the Secret', async () => {
      const f = failure(
        await resolveModule(
          { oci: `${basic.host}/acme/private:1`, pullSecretRef: { name: 'regcred-wrong' } },
          ctx(),
        ),
      );
      assert.equal(f.reason, 'Unauthorized');
      assert.match(f.message, /rejected user "fleet"/);
      assert.ok(f.message.includes(`Secret ${ns}/regcred-wrong`), f.message);
      assert.doesNotMatch(f.message, /not-the-password/);
    });

    it('a missing Secret, or one without this registry → MissingReference naming it', async () => {
      const missing = failure(
        await resolveModule({ oci: `${basic.host}/acme/private:1`, pullSecretRef: { name: 'nope' } }, ctx()),
      );
      assert.equal(missing.reason, 'MissingReference');
      assert.ok(missing.message.includes(`Secret ${ns}/nope`), missing.message);
      const elsewhere = failure(
        await resolveModule(
          { oci: `${basic.host}/acme/private:1`, pullSecretRef: { name: 'regcred-elsewhere' } },
          ctx(),
        ),
      );
      assert.equal(elsewhere.reason, 'MissingReference');
      assert.ok(elsewhere.message.includes(`no credentials for registry ${basic.host}`), elsewhere.message);
      assert.ok(elsewhere.message.includes(`it has: ${anon.host}`), elsewhere.message);
    });

    it('a Secret of another kind → InvalidSource saying how to create a pull secret', async () => {
      await kubectl(['create', 'secret', 'generic', 'not-docker', '--from-literal=password=x']);
      const f = failure(
        await resolveModule(
          { oci: `${basic.host}/acme/private:1`, pullSecretRef: { name: 'not-docker' } },
          ctx(),
        ),
      );
      assert.equal(f.reason, 'InvalidSource');
      assert.match(f.message, /create secret docker-registry/);
    });

    it('pushModule with a wrong password is refused as Unauthorized', async () => {
      await assert.rejects(
        pushModule(`${basic.host}/acme/private:2`, WASM, { username: user, password: 'wrong' }),
        (error: unknown) => error instanceof ModuleResolutionError && error.reason === 'Unauthorized',
      );
    });
  });

  describe('with the Bearer token flow', () => {
    let tokenServer: Server;
    let registry: Registry;
    let scratch: string;
    const scopesAsked: string[] = [];

    before(async () => {
      // A token service is the registry's peer: it checks Basic credentials and signs a JWT
      // (RS256, certificate in x5c) granting the requested scopes, as a real one would.
      scratch = await mkdtemp(path.join(tmpdir(), 'wasmfleet-token-'));
      const keyFile = path.join(scratch, 'key.pem');
      const certFile = path.join(scratch, 'cert.pem');
      await promisify(execFile)('openssl', [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=wasmfleet-test-token',
        '-keyout',
        keyFile,
        '-out',
        certFile,
      ]);
      const [key, certificatePem] = await Promise.all([
        readFile(keyFile, 'utf8'),
        readFile(certFile, 'utf8'),
      ]);
      const x5c = [new X509Certificate(certificatePem).raw.toString('base64')];
      const service = 'wasmfleet-test-registry';
      const issuer = 'wasmfleet-test-issuer';
      const expected = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

      tokenServer = createServer((req, res) => {
        const url = new URL(req.url ?? '/', 'http://token');
        const scopes = url.searchParams.getAll('scope');
        scopesAsked.push(...scopes);
        const authorized = req.headers.authorization === expected;
        if (req.headers.authorization !== undefined && !authorized) {
          res.writeHead(401).end('{"details":"incorrect username or password"}');
          return;
        }
        // Anonymous callers get a token with no access, as public token services do.
        const access = authorized
          ? scopes.map((s) => {
              const [type = '', name = '', actions = ''] = s.split(':');
              return { type, name, actions: actions.split(',') };
            })
          : [];
        const now = Math.floor(Date.now() / 1000);
        const enc = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url');
        const input = `${enc({ typ: 'JWT', alg: 'RS256', x5c })}.${enc({
          iss: issuer,
          sub: authorized ? user : '',
          aud: service,
          iat: now,
          nbf: now - 10,
          exp: now + 300,
          jti: randomBytes(8).toString('hex'),
          access,
        })}`;
        const token = `${input}.${sign('sha256', Buffer.from(input), key).toString('base64url')}`;
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ token, expires_in: 300 }));
      });
      await new Promise<void>((resolve) => tokenServer.listen(0, '127.0.0.1', resolve));
      const realm = `http://127.0.0.1:${(tokenServer.address() as AddressInfo).port}/token`;
      registry = await startRegistry({ token: { realm, service, issuer, certificatePem } });
      await kubectl([
        'create',
        'secret',
        'docker-registry',
        'token-cred',
        `--docker-server=${registry.host}`,
        `--docker-username=${user}`,
        `--docker-password=${password}`,
      ]);
    });

    after(async () => {
      tokenServer.closeAllConnections();
      await Promise.allSettled([
        registry.stop(),
        new Promise((r) => tokenServer.close(r)),
        rm(scratch, { recursive: true, force: true }),
      ]);
    });

    it('pushes and pulls with tokens from the challenge, and refuses anonymous pulls', async () => {
      const pushed = await pushModule(`${registry.host}/acme/token-fn:1`, WASM, { username: user, password });
      assert.ok(scopesAsked.includes('repository:acme/token-fn:pull,push'), scopesAsked.join(' '));

      const result = await resolveModule(
        { oci: `${registry.host}/acme/token-fn:1`, pullSecretRef: { name: 'token-cred' } },
        ctx(),
      );
      assert.ok(result.ok, JSON.stringify(result));
      assert.equal(result.module.sha256, pushed.sha256);

      const anonymous = failure(await resolveModule({ oci: `${registry.host}/acme/token-fn:1` }, ctx()));
      assert.equal(anonymous.reason, 'Unauthorized');
      assert.match(anonymous.message, /requires credentials/);

      await assert.rejects(
        pushModule(`${registry.host}/acme/token-fn:2`, WASM, { username: user, password: 'wrong' }),
        (error: unknown) => error instanceof ModuleResolutionError && error.reason === 'Unauthorized',
      );
    });
  });
});
