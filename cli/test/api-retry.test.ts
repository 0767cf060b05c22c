// SPDX-License-Identifier: Apache-2.0
// The CLI asks again when the API server says when to (Retry-After on a 429 or 5xx), as kubectl
// does: a fresh API server answers "429 storage is (re)initializing" for a CRD it has just
// established, which is right when `wasmfleet dev up` has installed them and a user types
// `wasmfleet get functions` (regression: get-apply-describe's first `get` failed with it once the
// CLI started faster, docs/adr/0046). The server here is a local HTTPS server with its own CA that
// answers like kube-apiserver; each case runs from the startup snapshot and from the bundle.
import assert from 'node:assert/strict';
import { readFile, rm, writeFile, mkdtemp } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateTestCertificates, type TestCertificates } from '@wasmfleet/test-support';
import { cli } from './helpers.ts';

const LIST = {
  apiVersion: 'wasmfleet.io/v1alpha1',
  kind: 'EdgeNodeList',
  items: [{ metadata: { name: 'pump-1' } }],
};
const TOO_MANY = {
  kind: 'Status',
  apiVersion: 'v1',
  status: 'Failure',
  message: 'storage is (re)initializing',
  code: 429,
};

describe('answers that say when to ask again', () => {
  let certs: TestCertificates;
  let server: Server;
  let dir: string;
  let kubeconfig: string;
  /** How many of the next requests get a 429, and with which Retry-After (undefined: none). */
  let refusals = 0;
  let retryAfter: string | undefined;
  let requests = 0;

  before(async () => {
    certs = await generateTestCertificates();
    server = createServer(
      { cert: await readFile(certs.serverCertFile), key: await readFile(certs.serverKeyFile) },
      (_req, res) => {
        requests++;
        const refuse = refusals > 0;
        if (refuse) refusals--;
        res.writeHead(refuse ? 429 : 200, {
          'content-type': 'application/json',
          ...(refuse && retryAfter !== undefined ? { 'retry-after': retryAfter } : {}),
        });
        res.end(JSON.stringify(refuse ? TOO_MANY : LIST));
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    dir = await mkdtemp(path.join(tmpdir(), 'wasmfleet-api-retry-'));
    kubeconfig = path.join(dir, 'kubeconfig');
    const ca = (await readFile(certs.caFile)).toString('base64');
    await writeFile(
      kubeconfig,
      `apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:${port}\n    certificate-authority-data: ${ca}\ncontexts:\n- name: c\n  context: { cluster: c, user: u }\ncurrent-context: c\nusers:\n- name: u\n  user: { token: t }\n`,
    );
  });
  after(async () => {
    server.close();
    await rm(dir, { recursive: true, force: true });
    await certs.dispose();
  });

  for (const [way, env] of [
    ['from the startup snapshot', {}],
    ['from the bundle', { WASMFLEET_CLI_SNAPSHOT: 'off' }],
  ] as const) {
    it(`asks again after a 429 with Retry-After, ${way}`, async () => {
      refusals = 2;
      retryAfter = '0';
      requests = 0;
      const r = await cli(['get', 'nodes', '-o', 'name'], kubeconfig, env);
      assert.equal(r.exitCode, 0, r.stderr);
      assert.equal(r.stdout, 'edgenode.wasmfleet.io/pump-1\n');
      assert.equal(requests, 3);
    });

    it(`reports a 429 without Retry-After at once, ${way}`, async () => {
      refusals = 1;
      retryAfter = undefined;
      requests = 0;
      const r = await cli(['get', 'nodes', '-o', 'name'], kubeconfig, env);
      assert.notEqual(r.exitCode, 0);
      assert.match(r.stderr, /429: storage is \(re\)initializing/);
      assert.equal(requests, 1);
    });
  }
});
