// SPDX-License-Identifier: Apache-2.0
// Regressions in how the operator talks to registries and token services:
// - Basic credentials went to whatever token service a registry's Bearer challenge named, on any
//   host and over plain http. They now go only to the registry's own host or domain, and plain
//   http only where the operator allows it (loopback, --plain-http-registries).
// - error bodies and token answers were read whole, whatever their size. Both are now bounded.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { resolveModule, type KubeReader, type ResolveResult } from '../../src/modules/index.ts';
import { realmProblem } from '../../../oci/src/registry-auth.ts';

const USER = 'alice';
const PASSWORD = 's3cret-registry-password';

/** A pull secret for `registry`, as `kubectl create secret docker-registry` writes it. */
function pullSecret(registry: string): KubeReader {
  const auth = Buffer.from(`${USER}:${PASSWORD}`).toString('base64');
  const config = JSON.stringify({ auths: { [registry]: { username: USER, password: PASSWORD, auth } } });
  return {
    getConfigMap: () => Promise.resolve(undefined),
    getSecret: () =>
      Promise.resolve({
        type: 'kubernetes.io/dockerconfigjson',
        data: { '.dockerconfigjson': Buffer.from(config).toString('base64') },
      }),
  };
}

function failure(result: ResolveResult): { reason: string; message: string } {
  if (result.ok) assert.fail('expected a failure');
  return result.failure;
}

const servers: Server[] = [];
async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<number> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** Writes `total` bytes in 64 KiB chunks while the client reads; resolves with what was written. */
function stream(res: ServerResponse, total: number): Promise<number> {
  return new Promise((resolve) => {
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let written = 0;
    res.on('close', () => resolve(written));
    const pump = (): void => {
      while (written < total) {
        written += chunk.length;
        if (!res.write(chunk)) {
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    pump();
  });
}

after(() => {
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
});

describe('registry credentials and response bodies', () => {
  it('credentials never go to a token service off the registry’s domain', async () => {
    const seen: (string | undefined)[] = [];
    const tokenPort = await serve((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"token":"t"}');
    });
    // The registry is 127.0.0.1; its challenge sends clients to "localhost", another host.
    const registryPort = await serve((_req, res) => {
      res
        .writeHead(401, {
          'www-authenticate': `Bearer realm="http://localhost:${tokenPort}/token",service="reg"`,
        })
        .end();
    });
    const registry = `127.0.0.1:${registryPort}`;
    const result = await resolveModule(
      { oci: `${registry}/acme/fn:1`, pullSecretRef: { name: 'regcred' } },
      { namespace: 'plant-1', kube: pullSecret(registry), timeoutMs: 5_000 },
    );
    const { reason, message } = failure(result);
    assert.equal(reason, 'Unauthorized');
    assert.match(message, /token service http:\/\/localhost:\d+ is not on the registry's own domain/);
    assert.deepEqual(seen, [], 'the token service was never asked, so it never saw the credentials');
  });

  it('a token service’s answer is read up to 1 MiB, not whole', async () => {
    let written: Promise<number> = Promise.resolve(0);
    const tokenPort = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"token":"');
      written = stream(res, 64 * 1024 * 1024);
    });
    const registryPort = await serve((_req, res) => {
      res.writeHead(401, { 'www-authenticate': `Bearer realm="http://127.0.0.1:${tokenPort}/token"` }).end();
    });
    const registry = `127.0.0.1:${registryPort}`;
    const { message } = failure(
      await resolveModule(
        { oci: `${registry}/acme/fn:1`, pullSecretRef: { name: 'regcred' } },
        { namespace: 'plant-1', kube: pullSecret(registry), timeoutMs: 20_000 },
      ),
    );
    assert.match(message, /not a JSON document of at most 1048576 bytes/);
    assert.ok((await written) < 16 * 1024 * 1024, `the token service wrote ${await written} bytes`);
  });

  it('an error body is read only as far as the message quotes it', async () => {
    let written: Promise<number> = Promise.resolve(0);
    const registryPort = await serve((_req, res) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      written = stream(res, 64 * 1024 * 1024);
    });
    const { message } = failure(
      await resolveModule(
        { oci: `127.0.0.1:${registryPort}/acme/fn:1` },
        { namespace: 'plant-1', kube: pullSecret('none'), timeoutMs: 20_000 },
      ),
    );
    assert.match(message, /HTTP 500/);
    assert.ok((await written) < 16 * 1024 * 1024, `the registry wrote ${await written} bytes`);
  });

  it('decides which token services may be asked, and given credentials', () => {
    const loopbackOnly = (host: string): boolean => /^(127\.|localhost)/.test(host);
    const hub = 'registry-1.docker.io';
    assert.equal(realmProblem(hub, new URL('https://auth.docker.io/token'), true, loopbackOnly), undefined);
    assert.equal(realmProblem('ghcr.io', new URL('https://ghcr.io/token'), true, loopbackOnly), undefined);
    assert.equal(
      realmProblem('registry.gitlab.com', new URL('https://gitlab.com/jwt/auth'), true, loopbackOnly),
      undefined,
    );
    assert.match(
      realmProblem('ghcr.io', new URL('https://evil.example/token'), true, loopbackOnly) ?? '',
      /not on the registry's own domain/,
    );
    assert.equal(
      realmProblem('ghcr.io', new URL('https://other.example/token'), false, loopbackOnly),
      undefined,
    );
    assert.match(
      realmProblem('reg.example.com', new URL('http://reg.example.com/token'), false, loopbackOnly) ?? '',
      /plain http/,
    );
    assert.equal(
      realmProblem('reg.example.com', new URL('http://reg.example.com/token'), true, () => true),
      undefined,
    );
    assert.match(
      realmProblem('10.0.0.5:5000', new URL('https://10.0.0.6/t'), true, () => true) ?? '',
      /own domain/,
    );
  });
});
