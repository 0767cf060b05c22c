// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import {
  allExited,
  freePort,
  installCrds,
  serverSideApply,
  startControlPlane,
  waitFor,
  type ControlPlane,
} from '../src/index.ts';

describe('a private control plane', () => {
  let plane: ControlPlane;
  let startMs = 0;

  before(async () => {
    const t0 = performance.now();
    plane = await startControlPlane({ crdsDir: false });
    startMs = performance.now() - t0;
  });
  after(() => plane.stop());

  it('starts etcd and kube-apiserver on loopback and reports how long that took', (t) => {
    t.diagnostic(`control plane start (warm binaries): ${startMs.toFixed(0)} ms`);
    assert.match(plane.server, /^https:\/\/127\.0\.0\.1:\d+$/);
  });

  it('serves the real kubectl as the admin user', async () => {
    const whoami = await plane.kubectl(['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}']);
    assert.equal(whoami.stderr, '');
    assert.equal(whoami.stdout, 'admin');
    const canAll = await plane.kubectl(['auth', 'can-i', '*', '*', '--all-namespaces']);
    assert.equal(canAll.stdout.trim(), 'yes');
  });

  it('enforces RBAC: a ServiceAccount with no bindings is forbidden', async () => {
    assert.equal((await plane.kubectl(['create', 'serviceaccount', 'nobody', '-n', 'default'])).code, 0);
    const token = await plane.kubectl(['create', 'token', 'nobody', '-n', 'default']);
    assert.equal(token.code, 0, token.stderr);
    const kubeconfig = await plane.writeKubeconfig('nobody', token.stdout.trim());
    const list = await plane.kubectl(['get', 'configmaps', '-n', 'default'], { kubeconfig });
    assert.notEqual(list.code, 0);
    assert.match(list.stderr, /forbidden.*system:serviceaccount:default:nobody/i);
  });

  // Regression: `dev up` failed in CI with "the server doesn't have a resource type for kind
  // WasmFunction": discovery of the group was remembered from a moment it listed only some kinds.
  it('applies an object of a kind whose CRD was added after its group was first discovered', async () => {
    const kube = new KubeConfig();
    kube.loadFromFile(plane.kubeconfigPath);
    const dir = await mkdtemp(path.join(tmpdir(), 'wasmfleet-crds-'));
    try {
      for (const kind of ['Alpha', 'Beta']) {
        await writeFile(path.join(dir, `${kind}.yaml`), JSON.stringify(crdOf(kind)));
        await installCrds(kube, dir);
        const applied = await serverSideApply(
          kube,
          { apiVersion: 'later.wasmfleet.io/v1', kind, metadata: { name: 'one', namespace: 'default' } },
          { fieldManager: 'test' },
        );
        assert.equal((applied as { kind?: string }).kind, kind);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rejects an unknown bearer token', async () => {
    const kubeconfig = await plane.writeKubeconfig('stranger', 'not-a-token');
    const list = await plane.kubectl(['get', 'namespaces'], { kubeconfig });
    assert.notEqual(list.code, 0);
    assert.match(list.stderr, /Unauthorized|must be logged in/i);
  });
});

/** A minimal namespaced CRD of `kind` in the group later.wasmfleet.io. */
function crdOf(kind: string): object {
  const plural = `${kind.toLowerCase()}s`;
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.later.wasmfleet.io` },
    spec: {
      group: 'later.wasmfleet.io',
      names: { kind, plural, singular: kind.toLowerCase() },
      scope: 'Namespaced',
      versions: [
        { name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object' } } },
      ],
    },
  };
}

describe('control plane teardown', () => {
  it('stop() leaves no etcd or kube-apiserver process behind', async () => {
    const plane = await startControlPlane({ crdsDir: false });
    assert.equal(allExited(plane.pids), false);
    await plane.stop();
    assert.equal(allExited(plane.pids), true, `still running: ${plane.pids.join(', ')}`);
  });

  for (const signal of ['SIGKILL', 'SIGINT'] as const) {
    it(`a test process ended by ${signal} leaves no orphaned control-plane process`, async () => {
      const child = spawn(
        process.execPath,
        [new URL('fixtures/start-control-plane-and-wait.ts', import.meta.url).pathname],
        {
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      const [line] = (await once(child.stdout, 'data')) as [Buffer];
      const { pids } = JSON.parse(line.toString()) as { pids: number[] };
      assert.equal(allExited(pids), false);
      child.kill(signal);
      await once(child, 'exit');
      await waitFor('control-plane processes to exit', () => (allExited(pids) ? true : undefined), {
        timeoutMs: 10_000,
      });
    });
  }
});

// Regression: on a busy machine a port picked free was taken before kube-apiserver bound it, and
// `dev up` (the README's first command) exited in CI instead of picking again.
describe('a port taken between picking and binding', () => {
  it('starts again on new ports and says so', async () => {
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const taken = (squatter.address() as { port: number }).port;
    let picks = 0;
    const lines: string[] = [];
    const plane = await startControlPlane({
      crdsDir: false,
      progress: (line) => lines.push(line),
      pickPorts: async () => {
        picks++;
        const [etcdClientPort, etcdPeerPort] = [await freePort(), await freePort()];
        return { etcdClientPort, etcdPeerPort, apiPort: picks === 1 ? taken : await freePort() };
      },
    });
    try {
      assert.equal(picks, 2);
      assert.notEqual(new URL(plane.server).port, String(taken));
      assert.ok(
        lines.some((l) => /port was taken before kube-apiserver bound it/.test(l)),
        lines.join('\n'),
      );
      const version = await plane.kubectl(['get', '--raw', '/version']);
      assert.equal(version.code, 0, version.stderr);
    } finally {
      await plane.stop();
      squatter.close();
    }
  });
});
