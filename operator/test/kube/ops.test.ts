// SPDX-License-Identifier: Apache-2.0
// The operations server (metrics, probes) and the graceful-shutdown helper, in process: no
// Kubernetes needed, real HTTP on loopback.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import {
  OpsServer,
  OperatorMetrics,
  TerminalError,
  WorkQueue,
  cachesSynced,
  installGracefulShutdown,
  leaderStateKnown,
  reconcileLoop,
  standardShutdownSteps,
  type SignalSource,
} from '../../src/kube/index.ts';

async function get(url: string): Promise<{ status: number; body: string; type: string | null }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.text(), type: res.headers.get('content-type') };
}

describe('OpsServer', () => {
  it('serves Prometheus metrics fed by the queue and reconcile loop, plus the gauges others set', async () => {
    const metrics = new OperatorMetrics();
    const queue = new WorkQueue({ name: 'wasmfunction', hooks: metrics.queueHooks() });
    let flakyCalls = 0;
    let successes = 0;
    const loop = reconcileLoop(
      queue,
      ({ name }): Promise<undefined> => {
        if (name === 'bad') return Promise.reject(new TerminalError('spec is invalid'));
        if (name === 'flaky' && ++flakyCalls <= 2) return Promise.reject(new Error('transient'));
        successes += 1;
        return Promise.resolve(undefined);
      },
      { hooks: metrics.reconcileHooks() },
    );
    queue.add('ns/good');
    queue.add('ns/bad');
    queue.add('ns/flaky');
    metrics.devicesOnline.set(7);
    metrics.functionsByPhase.set({ phase: 'Ready' }, 3);
    const server = new OpsServer({ metrics, port: 0 });
    const { url } = await server.listen();
    try {
      // flaky fails twice (backoff 5 ms, then 10 ms) before it succeeds.
      for (let i = 0; i < 200 && successes < 2; i++) await new Promise((r) => setTimeout(r, 10));
      const { status, body, type } = await get(`${url}/metrics`);
      assert.equal(status, 200);
      assert.match(type ?? '', /^text\/plain; version=0\.0\.4/);
      assert.match(body, /wasmfleet_reconcile_total\{controller="wasmfunction",result="success"\} 2/);
      assert.match(body, /wasmfleet_reconcile_total\{controller="wasmfunction",result="terminal"\} 1/);
      assert.match(body, /wasmfleet_reconcile_errors_total\{controller="wasmfunction"\} 3/);
      assert.match(body, /wasmfleet_reconcile_duration_seconds_count\{controller="wasmfunction"\} \d+/);
      assert.match(body, /wasmfleet_workqueue_depth\{name="wasmfunction"\} 0/);
      assert.match(body, /wasmfleet_reconcile_total\{controller="wasmfunction",result="error"\} 2/);
      assert.match(body, /wasmfleet_workqueue_retries_total\{name="wasmfunction"\} 2/);
      assert.match(body, /wasmfleet_devices_online 7/);
      assert.match(body, /wasmfleet_functions\{phase="Ready"\} 3/);
    } finally {
      await queue.shutdown();
      await loop.stopped;
      await server.close();
    }
  });

  it('/readyz is 503 with reasons until caches sync and the leader state is known; /healthz is 200', async () => {
    const informer = {
      synced: false,
      hasSynced(): boolean {
        return this.synced;
      },
      source: { description: 'wasmfunctions in all namespaces' },
    };
    const elector = {
      known: false,
      leaderKnown(): boolean {
        return this.known;
      },
    };
    const server = new OpsServer({ port: 0 })
      .addReadyCheck('informers', cachesSynced([informer]))
      .addReadyCheck('leader-election', leaderStateKnown(elector));
    const { url } = await server.listen();
    try {
      const notReady = await get(`${url}/readyz`);
      assert.equal(notReady.status, 503);
      assert.match(notReady.body, /\[-\]informers waiting for caches: wasmfunctions in all namespaces/);
      assert.match(notReady.body, /\[-\]leader-election leader election has not read the Lease yet/);
      informer.synced = true;
      const half = await get(`${url}/readyz`);
      assert.equal(half.status, 503);
      assert.match(half.body, /\[\+\]informers ok/);
      elector.known = true;
      const ready = await get(`${url}/readyz`);
      assert.equal(ready.status, 200);
      assert.match(ready.body, /ok\n$/);
      assert.equal((await get(`${url}/healthz`)).status, 200);
      assert.equal((await get(`${url}/nope`)).status, 404);
      assert.equal((await get(`${url}/metrics`)).status, 404, 'no registry configured');
    } finally {
      await server.close();
    }
  });

  it('a throwing check reports its message', async () => {
    const server = new OpsServer({ port: 0 }).addHealthCheck('mqtt', () => {
      throw new Error('broker unreachable');
    });
    const { url } = await server.listen();
    try {
      const res = await get(`${url}/healthz`);
      assert.equal(res.status, 503);
      assert.match(res.body, /\[-\]mqtt broker unreachable/);
    } finally {
      await server.close();
    }
  });
});

class FakeProcess extends EventEmitter implements SignalSource {
  override once(signal: NodeJS.Signals, listener: () => void): this {
    return super.once(signal, listener);
  }
}

describe('installGracefulShutdown', () => {
  it('runs informers → queues → lease → server in order on SIGTERM, then exits 0', async () => {
    const order: string[] = [];
    const proc = new FakeProcess();
    const queue = new WorkQueue();
    let reconcileFinished = false;
    const loop = reconcileLoop(queue, async () => {
      await new Promise((r) => setTimeout(r, 100));
      reconcileFinished = true;
      order.push('reconcile finished');
    });
    queue.add('ns/in-flight');
    await new Promise((r) => setImmediate(r));
    const exited = new Promise<number>((resolve) => {
      installGracefulShutdown(
        standardShutdownSteps({
          informers: [{ stop: () => Promise.resolve(void order.push('informers')) }],
          queues: [queue],
          loops: [loop],
          elector: { stop: () => Promise.resolve(void order.push('lease released')) },
          server: { close: () => Promise.resolve(void order.push('server closed')) },
        }),
        { process: proc, exit: resolve, log: () => undefined },
      );
    });
    proc.emit('SIGTERM');
    assert.equal(await exited, 0);
    assert.equal(reconcileFinished, true, 'the in-flight reconcile was drained, not cut off');
    assert.deepEqual(order, ['informers', 'reconcile finished', 'lease released', 'server closed']);
  });

  it('a stuck step times out, later steps still run, exit code 1; a second signal exits 130', async () => {
    const proc = new FakeProcess();
    const codes: number[] = [];
    const ran: string[] = [];
    const shutdown = installGracefulShutdown(
      [
        { name: 'stuck', run: () => new Promise<void>(() => undefined), timeoutMs: 50 },
        { name: 'release lease', run: () => void ran.push('release') },
      ],
      { process: proc, exit: (c) => codes.push(c), log: () => undefined },
    );
    proc.emit('SIGINT');
    assert.equal(shutdown.signal.aborted, true);
    proc.emit('SIGINT');
    assert.deepEqual(codes, [130]);
    assert.equal(await shutdown.shutdown('again'), 1);
    assert.deepEqual(ran, ['release']);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(codes, [130, 1]);
    shutdown.dispose();
  });
});
