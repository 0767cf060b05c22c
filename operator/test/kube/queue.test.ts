// SPDX-License-Identifier: Apache-2.0
// The work queue and the reconcile loop are pure logic: every test here runs on node:test's fake
// timers (mock.timers), so backoffs of minutes take no wall-clock time.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import {
  ItemExponentialRateLimiter,
  KeyedTokenBucket,
  TerminalError,
  TokenBucketRateLimiter,
  WorkQueue,
  defaultControllerRateLimiter,
  reconcileLoop,
  systemClock,
  type ReconcileOutcome,
  type ReconcileRequest,
} from '../../src/kube/index.ts';

/** Lets promise continuations run (setImmediate is not faked). */
const settle = async (rounds = 3): Promise<void> => {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setImmediate(resolve));
};

/** Advances fake time in small steps so timers and promise chains interleave as in real life. */
const advance = async (ms: number, step = 1): Promise<void> => {
  for (let t = 0; t < ms; t += step) {
    await settle(1);
    mock.timers.tick(Math.min(step, ms - t));
  }
  await settle(1);
};

beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 }));
afterEach(() => mock.timers.reset());

describe('WorkQueue', () => {
  it('queues a key added several times while waiting only once, in first-added order', async () => {
    const q = new WorkQueue();
    q.add('ns/a');
    q.add('ns/b');
    q.add('ns/a');
    assert.equal(q.length, 2);
    assert.equal(await q.get(), 'ns/a');
    assert.equal(await q.get(), 'ns/b');
    assert.equal(q.length, 0);
  });

  it('holds back a key re-added while it is processing and hands it out again after done()', async () => {
    const q = new WorkQueue();
    q.add('ns/a');
    const first = await q.get();
    assert.equal(first, 'ns/a');
    q.add('ns/a');
    q.add('ns/a');
    assert.equal(q.length, 0, 'not handed to a second worker while the first holds it');
    let second: string | undefined;
    void q.get().then((k) => (second = k));
    await settle();
    assert.equal(second, undefined);
    q.done('ns/a');
    await settle();
    assert.equal(second, 'ns/a', 'requeued exactly once after done()');
    q.done('ns/a');
    assert.equal(q.length, 0);
  });

  it('addAfter delays a key and keeps the earliest deadline', () => {
    const q = new WorkQueue();
    q.addAfter('a', 100);
    q.addAfter('a', 50);
    q.addAfter('a', 500);
    assert.equal(q.delayedCount, 1);
    mock.timers.tick(49);
    assert.equal(q.length, 0);
    mock.timers.tick(1);
    assert.equal(q.length, 1);
    assert.equal(q.delayedCount, 0);
    mock.timers.tick(1000);
    assert.equal(q.length, 1, 'the later deadlines were dropped, not queued again');
  });

  it('backs off per key exponentially from 5 ms to 1000 s and forget() resets', () => {
    const limiter = new ItemExponentialRateLimiter();
    const delays = Array.from({ length: 20 }, () => limiter.when('a'));
    assert.deepEqual(delays.slice(0, 5), [5, 10, 20, 40, 80]);
    assert.equal(delays.at(-1), 1_000_000, 'capped at 1000 s');
    assert.equal(limiter.when('b'), 5, 'keys back off independently');
    assert.equal(limiter.numRequeues('a'), 20);
    limiter.forget('a');
    assert.equal(limiter.when('a'), 5);
  });

  it('the global token bucket allows a burst of 100, then 10 per second', () => {
    const bucket = new TokenBucketRateLimiter(10, 100, systemClock);
    for (let i = 0; i < 100; i++) assert.equal(bucket.when(), 0);
    assert.equal(bucket.when(), 100);
    assert.equal(bucket.when(), 200, 'reservations queue up behind each other');
    mock.timers.tick(1000);
    // 10 tokens came back, 2 were already reserved: the next reservation waits behind 8 free ones.
    for (let i = 0; i < 8; i++) assert.equal(bucket.when(), 0);
    assert.equal(bucket.when(), 100);
  });

  it('a keyed bucket spreads waiting keys over the tokens to come, each key coming back once (ADR 0038)', () => {
    const bucket = new KeyedTokenBucket(100, 2, systemClock);
    assert.equal(bucket.take('a'), 0);
    assert.equal(bucket.take('b'), 0);
    const waits = ['c', 'd', 'e'].map((key) => bucket.take(key));
    assert.deepEqual(waits, [10, 20, 30], 'each waiting key holds its own future token');
    assert.equal(bucket.take('d'), 20, 'asking early does not take another token');
    mock.timers.tick(20);
    assert.equal(bucket.take('c'), 0);
    assert.equal(bucket.take('d'), 0);
    assert.equal(bucket.take('e'), 10);
    assert.equal(bucket.take('f'), 20, 'a new key queues behind the reserved ones');
  });

  it('the default limiter is the slower of both: a mass failure is spread out', () => {
    const limiter = defaultControllerRateLimiter();
    const delays = Array.from({ length: 120 }, (_, i) => limiter.when(`key-${i}`));
    assert.equal(delays[0], 5);
    assert.equal(delays[99], 5);
    assert.equal(delays[100], 100);
    assert.equal(delays[119], 2000);
  });

  it('addRateLimited requeues after the backoff and counts retries', () => {
    const retried: string[] = [];
    const q = new WorkQueue({ name: 'widgets', hooks: { retried: (name) => retried.push(name) } });
    q.addRateLimited('a');
    q.addRateLimited('a');
    assert.equal(q.numRequeues('a'), 2);
    mock.timers.tick(4);
    assert.equal(q.length, 0);
    mock.timers.tick(1);
    assert.equal(q.length, 1, 'the earliest of 5 ms and 10 ms');
    assert.deepEqual(retried, ['widgets', 'widgets']);
    q.forget('a');
    assert.equal(q.numRequeues('a'), 0);
  });

  it('shutdown drops waiting keys, rejects adds, releases idle workers and waits for in-flight ones', async () => {
    const q = new WorkQueue();
    q.add('a');
    q.add('b');
    q.addAfter('c', 1000);
    const held = await q.get();
    assert.equal(held, 'a');
    let drained = false;
    const shutdown = q.shutdown().then(() => (drained = true));
    q.add('d');
    assert.equal(q.length, 0);
    assert.equal(await q.get(), undefined);
    mock.timers.tick(2000);
    assert.equal(q.length, 0, 'delayed keys were cancelled');
    await settle();
    assert.equal(drained, false, 'still processing a');
    q.done('a');
    await shutdown;
    assert.equal(drained, true);
  });

  it('reports depth through hooks', async () => {
    const depths: number[] = [];
    const q = new WorkQueue({ hooks: { depth: (_name, depth) => depths.push(depth) } });
    q.add('a');
    q.add('b');
    await q.get();
    assert.deepEqual(depths, [1, 2, 1]);
  });
});

describe('reconcileLoop', () => {
  it('never reconciles one key twice at once and never exceeds the worker count', async () => {
    const q = new WorkQueue();
    const running = new Set<string>();
    let maxRunning = 0;
    let overlaps = 0;
    const counts = new Map<string, number>();
    const loop = reconcileLoop(
      q,
      async ({ key }) => {
        if (running.has(key)) overlaps += 1;
        running.add(key);
        maxRunning = Math.max(maxRunning, running.size);
        counts.set(key, (counts.get(key) ?? 0) + 1);
        await new Promise((resolve) => setTimeout(resolve, 10));
        running.delete(key);
      },
      { workers: 3 },
    );
    for (let round = 0; round < 5; round++) {
      for (const key of ['a', 'b', 'c', 'd', 'e', 'f']) q.add(`ns/${key}`);
      await advance(3);
    }
    await advance(200);
    assert.equal(overlaps, 0);
    assert.equal(maxRunning, 3);
    for (const [key, n] of counts) {
      // Adds that land while a key runs collapse into one follow-up reconcile.
      assert.ok(n >= 1 && n <= 5, `${key} reconciled ${n} times`);
    }
    assert.equal(counts.size, 6);
    await q.shutdown();
    await loop.stopped;
  });

  it('requeues plain errors with backoff, drops TerminalError, honours requeueAfter, forgets on success', async () => {
    const q = new WorkQueue();
    const seen: { key: string; at: number; retries: number }[] = [];
    const outcomes: [string, ReconcileOutcome][] = [];
    const failures: string[] = [];
    let flakyCalls = 0;
    const reconcile = async (r: ReconcileRequest): Promise<{ requeueAfter?: number } | undefined> => {
      seen.push({ key: r.key, at: Date.now(), retries: r.retries });
      await Promise.resolve();
      if (r.name === 'flaky' && ++flakyCalls <= 3) throw new Error('API said no');
      if (r.name === 'broken') throw new TerminalError('spec.module has no source');
      if (r.name === 'poll' && seen.filter((s) => s.key === r.key).length < 3) return { requeueAfter: 1000 };
      return undefined;
    };
    const loop = reconcileLoop(q, reconcile, {
      controller: 'widgets',
      workers: 2,
      hooks: {
        reconciled: (c, outcome) => outcomes.push([c, outcome]),
        failed: (_c, key) => failures.push(key),
      },
    });
    q.add('ns/flaky');
    q.add('ns/broken');
    q.add('ns/poll');
    await advance(3000);

    const flaky = seen.filter((s) => s.key === 'ns/flaky');
    assert.deepEqual(
      flaky.map((s) => s.at),
      [0, 5, 15, 35],
      'exponential backoff: +5, +10, +20 ms',
    );
    assert.deepEqual(
      flaky.map((s) => s.retries),
      [0, 1, 2, 3],
    );
    assert.equal(q.numRequeues('ns/flaky'), 0, 'success forgets the backoff');

    assert.equal(seen.filter((s) => s.key === 'ns/broken').length, 1, 'a TerminalError is not retried');
    assert.deepEqual(
      seen.filter((s) => s.key === 'ns/poll').map((s) => s.at),
      [0, 1000, 2000],
    );
    assert.equal(failures.filter((k) => k === 'ns/flaky').length, 3);
    assert.ok(outcomes.some(([c, o]) => c === 'widgets' && o === 'terminal'));
    assert.ok(outcomes.some(([, o]) => o === 'requeue_after'));
    assert.equal(outcomes.filter(([, o]) => o === 'error').length, 3);
    await q.shutdown();
    await loop.stopped;
  });

  it('treats a malformed key as terminal instead of spinning on it', async () => {
    const q = new WorkQueue();
    let calls = 0;
    const loop = reconcileLoop(q, () => {
      calls += 1;
      return Promise.resolve();
    });
    q.add('a/b/c');
    await advance(100);
    assert.equal(calls, 0);
    assert.equal(q.delayedCount, 0);
    await q.shutdown();
    await loop.stopped;
  });

  it('shutdown waits for the in-flight reconcile to finish, then the workers exit', async () => {
    const q = new WorkQueue();
    let finished = false;
    const loop = reconcileLoop(
      q,
      async () => {
        await new Promise((resolve) => setTimeout(resolve, 500));
        finished = true;
      },
      { workers: 4 },
    );
    q.add('ns/slow');
    await settle();
    let drained = false;
    const shutdown = q.shutdown().then(() => (drained = true));
    await advance(499, 50);
    assert.equal(drained, false);
    await advance(1);
    await shutdown;
    assert.equal(finished, true);
    await loop.stopped;
  });

  it('rejects a non-positive worker count', () => {
    assert.throws(() => reconcileLoop(new WorkQueue(), () => Promise.resolve(), { workers: 0 }), /workers/);
  });
});
