// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { freePort } from '@wasmfleet/test-support';
import { cli, sharedControlPlane } from './helpers.ts';

describe('wasmfleet error paths', () => {
  it('no cluster: explains that the API server cannot be reached and what to do', async () => {
    const port = await freePort();
    const dir = await mkdtemp(path.join(tmpdir(), 'cli-nocluster-'));
    const kubeconfig = path.join(dir, 'config');
    await writeFile(
      kubeconfig,
      `apiVersion: v1\nkind: Config\nclusters: [{ name: c, cluster: { server: "https://127.0.0.1:${port}", insecure-skip-tls-verify: true } }]\nusers: [{ name: u, user: { token: t } }]\ncontexts: [{ name: ctx, context: { cluster: c, user: u } }]\ncurrent-context: ctx\n`,
    );
    const r = await cli(['get', 'functions'], kubeconfig);
    assert.equal(r.exitCode, 1);
    assert.match(
      r.stderr,
      new RegExp(`cannot reach the Kubernetes API server at https://127.0.0.1:${port} \\(ECONNREFUSED\\)`),
    );
    assert.match(r.stderr, /hint: .*wasmfleet dev up/);
  });

  it('wrong context: names the contexts that exist', async () => {
    const plane = await sharedControlPlane();
    const r = await cli(['get', 'functions', '--context', 'nope'], plane.kubeconfigPath);
    assert.equal(r.exitCode, 1);
    assert.match(r.stderr, /context "nope" is not in the kubeconfig/);
    assert.match(r.stderr, /known contexts: admin/);
  });

  it('missing kubeconfig file: says which file', async () => {
    const r = await cli(['get', 'nodes', '--kubeconfig', '/nonexistent/kubeconfig']);
    assert.match(r.stderr, /kubeconfig \/nonexistent\/kubeconfig does not exist/);
  });

  it('bad credentials: a 401 is explained', async () => {
    const plane = await sharedControlPlane();
    const kubeconfig = await plane.writeKubeconfig('bad-token', 'wrong');
    const r = await cli(['get', 'nodes'], kubeconfig);
    assert.equal(r.exitCode, 1);
    assert.match(r.stderr, /rejected your credentials \(401 Unauthorized\)/);
  });
});
