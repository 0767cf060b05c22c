// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { processExists, startControlPlane, waitFor } from '@wasmfleet/test-support';
import { cli } from './helpers.ts';

describe('wasmfleet dev up / dev down', () => {
  it('brings up devices and sample functions that produce outputs, and dev down leaves no process behind', async () => {
    const env = { WASMFLEET_DEV_DIR: await mkdtemp(path.join(tmpdir(), 'dev-up-')) };
    const up = await cli(
      ['dev', 'up', '--detach', '--broker-port', '0', '--devices', '2', '--cameras', '1'],
      undefined,
      env,
    );
    assert.equal(up.exitCode, 0, up.stderr + up.stdout);
    const state = JSON.parse(await readFile(path.join(env.WASMFLEET_DEV_DIR, 'state.json'), 'utf8')) as {
      pid: number;
      pids: number[];
      kubeconfig: string;
    };
    try {
      // The new user's first look: devices, functions, then outputs in the live log.
      const functions = await waitFor(
        'every sample function Ready on its devices',
        async () => {
          const r = await cli(['get', 'functions', '-o', 'json'], state.kubeconfig);
          const list = JSON.parse(r.stdout) as {
            items: { metadata: { name: string }; status?: { ready?: string; phase?: string } }[];
          };
          return list.items.length === 3 && list.items.every((f) => f.status?.phase === 'Ready')
            ? list.items
            : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 1000 },
      );
      assert.deepEqual(Object.fromEntries(functions.map((f) => [f.metadata.name, f.status?.ready])), {
        'anomaly-zscore': '3/3',
        grayscale: '1/1',
        'temp-alert': '2/2',
      });
      const nodes = await cli(['get', 'nodes'], state.kubeconfig);
      assert.match(nodes.stdout, /dev-sensor-1\s+Online\s+temperature,humidity/);
      await waitFor(
        'outputs in the live view',
        async () => {
          const log = await readFile(path.join(env.WASMFLEET_DEV_DIR, 'dev-up.log'), 'utf8');
          const rates = [...log.matchAll(/([\d.]+) msg\/s out/g)].map((m) => Number(m[1]));
          return rates.some((r) => r > 0) ? true : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 1000 },
      );
    } finally {
      const down = await cli(['dev', 'down'], undefined, env);
      assert.equal(down.exitCode, 0, down.stderr);
      assert.match(down.stdout, /no process left behind/);
    }
    for (const pid of [state.pid, ...state.pids])
      assert.equal(processExists(pid), false, `pid ${pid} still running`);
  });

  it('--kubeconfig uses an existing cluster: installs the CRDs there and runs the same stack', async () => {
    // A cluster of its own, without CRDs, so nothing else shares it.
    const cluster = await startControlPlane({ crdsDir: false });
    const env = { WASMFLEET_DEV_DIR: await mkdtemp(path.join(tmpdir(), 'dev-existing-')) };
    try {
      const up = await cli(
        [
          'dev',
          'up',
          '--detach',
          '--broker-port',
          '0',
          '--devices',
          '1',
          '--cameras',
          '0',
          '--kubeconfig',
          cluster.kubeconfigPath,
        ],
        undefined,
        env,
      );
      assert.equal(up.exitCode, 0, up.stderr + up.stdout);
      assert.match(up.stdout, new RegExp(`KUBECONFIG=${cluster.kubeconfigPath.replaceAll('/', '\\/')}`));
      const crds = await cluster.kubectl(['get', 'crd', '-o', 'name']);
      assert.match(crds.stdout, /wasmfunctions\.wasmfleet\.io/);
      await waitFor(
        'temp-alert Ready on the existing cluster',
        async () => {
          const r = await cluster.kubectl([
            'get',
            'wasmfunction',
            'temp-alert',
            '-o',
            'jsonpath={.status.ready}',
          ]);
          return r.stdout === '1/1' ? true : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 1000 },
      );
    } finally {
      assert.equal((await cli(['dev', 'down'], undefined, env)).exitCode, 0);
      await cluster.stop();
    }
  });

  // Regression: a detached start that failed said only "see <log>", and CI, which removes the
  // directory afterwards, lost why (the README journey failed in CI with no reason on record).
  it('a detached start that fails says why, from its log, and leaves nothing running', async () => {
    const devDir = await mkdtemp(path.join(tmpdir(), 'dev-fails-'));
    const kubeconfig = path.join(devDir, 'broken.kubeconfig');
    await writeFile(kubeconfig, 'clusters: [\n');
    const env = { WASMFLEET_DEV_DIR: devDir };
    const up = await cli(
      [
        'dev',
        'up',
        '--detach',
        '--broker-port',
        '0',
        '--devices',
        '1',
        '--cameras',
        '0',
        '--kubeconfig',
        kubeconfig,
      ],
      undefined,
      env,
    );
    assert.equal(up.exitCode, 1, up.stderr + up.stdout);
    assert.match(up.stderr, /dev up exited before it was ready; the end of .*dev-up\.log:/);
    assert.match(up.stderr, new RegExp(`cannot read kubeconfig ${kubeconfig.replaceAll('/', '\\/')}`));
    assert.match(up.stderr, /leave out --kubeconfig to start a local control plane/);
    const down = await cli(['dev', 'down'], undefined, env);
    assert.match(down.stdout, /no dev stack is running/);
  });

  it('dev down with nothing running says so', async () => {
    const env = { WASMFLEET_DEV_DIR: await mkdtemp(path.join(tmpdir(), 'dev-none-')) };
    const r = await cli(['dev', 'down'], undefined, env);
    assert.equal(r.exitCode, 0);
    assert.match(r.stdout, /no dev stack is running/);
  });
});
