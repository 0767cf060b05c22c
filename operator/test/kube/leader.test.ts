// SPDX-License-Identifier: Apache-2.0
// Leader election against the real API server: exactly one leader among two, graceful hand-over
// on stop, takeover within leaseDuration + retryPeriod after SIGKILL of a real leader process,
// stepping down when someone else wins the Lease, and when renewals fail for renewDeadline.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { CoordinationV1Api, V1MicroTime } from '@kubernetes/client-node';
import { uniqueName, waitFor } from '@wasmfleet/test-support';
import { FencedError, LeaderElector, type LeaderElectionOptions } from '../../src/kube/index.ts';
import { controlPlane, createNamespace, kubeConfigFor, startTcpProxy, type ControlPlane } from './helpers.ts';

// Short timings so the suite stays fast; same ratios as client-go's 15/10/2 s defaults.
const LEASE_MS = 3000;
const RENEW_DEADLINE_MS = 2000;
const RETRY_MS = 500;
const timings = { leaseDurationMs: LEASE_MS, renewDeadlineMs: RENEW_DEADLINE_MS, retryPeriodMs: RETRY_MS };
/** API round trips and process scheduling on a busy 2-core machine. */
const SLACK_MS = 750;

let cp: ControlPlane;
let namespace: string;
let api: CoordinationV1Api;
const electors: LeaderElector[] = [];
const children: ChildProcess[] = [];

function elector(
  identity: string,
  lease: string,
  extra: Partial<LeaderElectionOptions> = {},
  client = api,
): LeaderElector {
  const e = new LeaderElector(client, { namespace, name: lease, identity, ...timings, ...extra });
  electors.push(e);
  return e;
}

before(async () => {
  cp = await controlPlane();
  namespace = await createNamespace(cp, 'kube-leader');
  api = kubeConfigFor(cp).makeApiClient(CoordinationV1Api);
});

after(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await Promise.all(electors.map((e) => e.stop()));
  await cp.kubectl(['delete', 'namespace', namespace, '--wait=false']);
});

describe('LeaderElector', () => {
  it('validates its timings', () => {
    assert.throws(
      () =>
        new LeaderElector(api, {
          namespace: 'x',
          name: 'y',
          identity: 'z',
          leaseDurationMs: 2000,
          renewDeadlineMs: 2000,
        }),
      /must exceed renewDeadline/,
    );
    assert.throws(
      () =>
        new LeaderElector(api, {
          namespace: 'x',
          name: 'y',
          identity: 'z',
          leaseDurationMs: 2500,
          renewDeadlineMs: 2000,
          retryPeriodMs: 500,
        }),
      /whole seconds/,
    );
  });

  it('two electors: exactly one leads; stopping it releases the Lease and the other takes over at once', async () => {
    const lease = uniqueName('lease');
    const started: string[] = [];
    const stopped: string[] = [];
    const make = (id: string): LeaderElector =>
      elector(id, lease, {
        onStartedLeading: () => started.push(id),
        onStoppedLeading: () => stopped.push(id),
      });
    const a = make('replica-a');
    const b = make('replica-b');
    void a.run();
    void b.run();
    await waitFor('a leader', () => (started.length > 0 ? true : undefined), { timeoutMs: 10_000 });
    // Several renew periods with both campaigning: still exactly one.
    await new Promise((resolve) => setTimeout(resolve, 4 * RETRY_MS));
    assert.equal(started.length, 1);
    assert.equal([a, b].filter((e) => e.isLeader()).length, 1);
    const leader = a.isLeader() ? a : b;
    const follower = leader === a ? b : a;
    const onServer = await api.readNamespacedLease({ namespace, name: lease });
    assert.equal(onServer.spec?.holderIdentity, leader.identity);
    assert.equal(onServer.spec.leaseDurationSeconds, 3);
    assert.match(String(onServer.spec.renewTime), /\.\d{6}Z$/, 'times are written as MicroTime');
    assert.equal(follower.currentLeader(), leader.identity);
    assert.ok(follower.leaderKnown());

    const signal = leader.signal;
    const t0 = Date.now();
    await leader.stop();
    assert.equal(signal.aborted, true, 'the old leader’s work signal is aborted');
    assert.deepEqual(stopped, [leader.identity]);
    await waitFor('the follower to take over', () => (follower.isLeader() ? true : undefined), {
      timeoutMs: 10_000,
    });
    const handover = Date.now() - t0;
    assert.ok(
      handover < RETRY_MS + SLACK_MS,
      `released lease taken over in ${handover} ms (no waiting for expiry)`,
    );
    const after = await api.readNamespacedLease({ namespace, name: lease });
    assert.equal(after.spec?.holderIdentity, follower.identity);
    assert.equal(after.spec.leaseTransitions, 1);
    await follower.stop();
  });

  it('SIGKILL of the leader process: the other process leads within leaseDuration + retryPeriod', async () => {
    const lease = uniqueName('lease');
    const fixture = new URL('./fixtures/elector.ts', import.meta.url).pathname;
    const start = (id: string): { child: ChildProcess; lines: { text: string; at: number }[] } => {
      const child = spawn(process.execPath, [fixture, cp.kubeconfigPath, namespace, lease, id], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      children.push(child);
      const lines: { text: string; at: number }[] = [];
      createInterface({ input: child.stdout }).on('line', (text) => lines.push({ text, at: Date.now() }));
      return { child, lines };
    };
    const one = start('proc-1');
    const two = start('proc-2');
    const leading = (p: typeof one): boolean => p.lines.some((l) => l.text.startsWith('leading'));
    await waitFor('a leader process', () => (leading(one) || leading(two) ? true : undefined), {
      timeoutMs: 20_000,
    });
    await new Promise((resolve) => setTimeout(resolve, 2 * RETRY_MS));
    assert.equal([one, two].filter(leading).length, 1, 'exactly one process leads');
    const [leader, follower] = leading(one) ? [one, two] : [two, one];

    const killedAt = Date.now();
    leader.child.kill('SIGKILL');
    await waitFor('the follower to lead', () => (leading(follower) ? true : undefined), {
      timeoutMs: LEASE_MS * 3,
    });
    const tookOverAt = follower.lines.find((l) => l.text.startsWith('leading'))!.at;
    const gap = tookOverAt - killedAt;
    assert.ok(gap <= LEASE_MS + RETRY_MS + SLACK_MS, `took over ${gap} ms after the kill`);

    // SIGTERM the new leader: it releases the Lease and exits cleanly.
    follower.child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => follower.child.on('exit', resolve));
    assert.equal(code, 0);
    assert.ok(follower.lines.some((l) => l.text.startsWith('stopped')));
    const released = await api.readNamespacedLease({ namespace, name: lease });
    assert.equal(released.spec?.holderIdentity, undefined, 'released on graceful shutdown');
  });

  it('steps down at once when another holder wins the Lease (lose on conflict)', async () => {
    const lease = uniqueName('lease');
    const reasons: string[] = [];
    const a = elector('replica-a', lease, { onStoppedLeading: (r) => reasons.push(r) });
    const run = a.run();
    await waitFor('leading', () => (a.isLeader() ? true : undefined), { timeoutMs: 10_000 });
    const signal = a.signal;
    // An intruder (another replica whose write won) takes the Lease.
    const current = await api.readNamespacedLease({ namespace, name: lease });
    const now = new V1MicroTime();
    await api.replaceNamespacedLease({
      namespace,
      name: lease,
      body: {
        metadata: { name: lease, namespace, resourceVersion: current.metadata?.resourceVersion },
        spec: { holderIdentity: 'intruder', leaseDurationSeconds: 3, acquireTime: now, renewTime: now },
      },
    });
    const t0 = Date.now();
    await run;
    assert.ok(Date.now() - t0 < RETRY_MS * 1.2 + SLACK_MS, 'noticed on the next renew');
    assert.equal(a.isLeader(), false);
    assert.equal(signal.aborted, true);
    assert.match(reasons[0] ?? '', /lost the lease to intruder/);
    const after = await api.readNamespacedLease({ namespace, name: lease });
    assert.equal(
      after.spec?.holderIdentity,
      'intruder',
      'a lost leader does not release someone else’s Lease',
    );
  });

  it('steps down after renewDeadline without the API server, before the Lease expires for others', async () => {
    const proxy = await startTcpProxy(cp.server);
    try {
      const lease = uniqueName('lease');
      const cut = kubeConfigFor(cp, proxy.url).makeApiClient(CoordinationV1Api);
      const reasons: string[] = [];
      const a = elector('replica-a', lease, { onStoppedLeading: (r) => reasons.push(r) }, cut);
      const run = a.run();
      await waitFor('leading', () => (a.isLeader() ? true : undefined), { timeoutMs: 10_000 });
      const lastRenew = (await api.readNamespacedLease({ namespace, name: lease })).spec?.renewTime;
      proxy.pause();
      const t0 = Date.now();
      await run;
      const elapsed = Date.now() - t0;
      assert.match(reasons[0] ?? '', /could not renew within 2000 ms/);
      assert.ok(elapsed <= RENEW_DEADLINE_MS + SLACK_MS, `stepped down after ${elapsed} ms`);
      // The Lease is still valid for others at this point: nobody else could have acted yet.
      const expiresAt = Date.parse(String(lastRenew)) + LEASE_MS;
      assert.ok(Date.now() < expiresAt, 'stepped down before the Lease expired');
    } finally {
      await proxy.close();
    }
  });

  it('write fence: a leader frozen past renewDeadline refuses writes at once, and writes again only after a renew proves the Lease untouched', async () => {
    // After SIGSTOP/SIGCONT (or CPU starvation) the monotonic clock has moved on but no timer
    // has fired yet: the renew loop has not run, and queued work would write. Simulated by
    // skewing the elector's monotonic clock forward, as a freeze does.
    let skew = 0;
    const lease = uniqueName('lease');
    const a = elector('replica-a', lease, { monotonic: () => performance.now() + skew });
    const run = a.run();
    await waitFor('leading', () => (a.isLeader() ? true : undefined), { timeoutMs: 10_000 });
    assert.doesNotThrow(() => a.check('a write while the Lease is fresh'));
    skew = RENEW_DEADLINE_MS + 1000;
    assert.throws(
      () => a.check('PATCH /status'),
      (error: unknown) => {
        assert.ok(error instanceof FencedError);
        assert.match(
          error.message,
          /refused PATCH \/status: the Lease was last renewed \d+ ms ago, beyond the renew deadline of 2000 ms/,
        );
        return true;
      },
    );
    // Nobody touched the Lease meanwhile: the renew the refusal triggered keeps it.
    await waitFor('writes allowed again', () => {
      try {
        a.check('a write after the renew');
        return true;
      } catch {
        return undefined;
      }
    });
    assert.equal(a.isLeader(), true);
    await a.stop();
    await run;
  });

  it('write fence: a leader frozen while another replica took the Lease refuses writes and steps down (SIGSTOP regression)', async () => {
    let skew = 0;
    const lease = uniqueName('lease');
    const reasons: string[] = [];
    const a = elector('replica-a', lease, {
      monotonic: () => performance.now() + skew,
      onStoppedLeading: (r) => reasons.push(r),
    });
    const run = a.run();
    await waitFor('leading', () => (a.isLeader() ? true : undefined), { timeoutMs: 10_000 });
    // While "frozen", another replica takes the Lease over (it expired from its point of view).
    const current = await api.readNamespacedLease({ namespace, name: lease });
    const now = new V1MicroTime();
    await api.replaceNamespacedLease({
      namespace,
      name: lease,
      body: {
        metadata: { name: lease, namespace, resourceVersion: current.metadata?.resourceVersion },
        spec: { holderIdentity: 'new-leader', leaseDurationSeconds: 3, acquireTime: now, renewTime: now },
      },
    });
    skew = LEASE_MS + 1000;
    assert.throws(() => a.check('POST /events'), FencedError);
    await run;
    assert.equal(a.isLeader(), false);
    assert.throws(() => a.check('a later write'), /does not hold the Lease/);
    assert.match(reasons[0] ?? '', /the Lease changed while this replica could not renew it/);
  });

  it('write fence: a follower never passes', async () => {
    const lease = uniqueName('lease');
    const a = elector('replica-a', lease);
    const b = elector('replica-b', lease);
    void a.run();
    await waitFor('a leading', () => (a.isLeader() ? true : undefined), { timeoutMs: 10_000 });
    void b.run();
    await waitFor('b read the Lease', () => (b.leaderKnown() ? true : undefined), { timeoutMs: 10_000 });
    assert.throws(() => b.check('create Event'), /does not hold the Lease/);
  });
});
