// SPDX-License-Identifier: Apache-2.0
// Regression (found by test/soak): client-node 2.x opened a new TLS connection for every API
// request and left it open until the orphaned pool timed out, so a busy operator held hundreds
// of sockets and its RSS grew by hundreds of MiB an hour. PooledKubeConfig reuses connections.
import assert from 'node:assert/strict';
import { readdir, readlink } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { sharedControlPlane } from '@wasmfleet/test-support';
import { PooledKubeConfig } from '../../src/kube/pooled-kubeconfig.ts';

async function openSockets(): Promise<number> {
  const fds = await readdir('/proc/self/fd');
  const targets = await Promise.all(fds.map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')));
  return targets.filter((t) => t.startsWith('socket:')).length;
}

/** 400 requests, 8 at a time, like the operator's workers; sockets opened by them. */
async function socketsAfterRequests(kc: KubeConfig): Promise<number> {
  const api = kc.makeApiClient(CoreV1Api);
  const before = await openSockets();
  for (let i = 0; i < 50; i++) await Promise.all(Array.from({ length: 8 }, () => api.listNamespace()));
  return (await openSockets()) - before;
}

describe('kube API connections', () => {
  it('400 API requests reuse a handful of connections instead of opening one each', async () => {
    const plane = await sharedControlPlane();
    const plain = new KubeConfig();
    plain.loadFromFile(plane.kubeconfigPath);
    const pooled = PooledKubeConfig.from(plain);
    try {
      const opened = await socketsAfterRequests(pooled);
      assert.ok(opened <= 16, `${opened} sockets left open by 400 requests through one pool`);
    } finally {
      await pooled.close();
    }
  });
});
