// SPDX-License-Identifier: Apache-2.0
// A leader frozen past its Lease (SIGSTOP), then thawed (SIGCONT): while it is frozen the
// standby takes over; once thawed, the old leader must not write anything — not to the API
// server, not to the broker — even though its timers fire late and its informers and MQTT
// client hand it a backlog of work. The evidence is what the API server (audit log, filtered
// by the old leader's User-Agent) and the broker (its PUBLISH log, by client id) recorded.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startControlPlane, waitFor, type OwnedControlPlane } from '@wasmfleet/test-support';
import { describeEvent, isWrite, micros, readAudit } from './support/audit.ts';
import { LOG_PUBLISHES, publishesIn } from './support/broker-log.ts';
import { startFaultFleet, waitForFunction, wasmFunction, type FaultFleet } from './support/fleet.ts';
import { LONG, sleep } from './support/settings.ts';
import type { OperatorProcess } from '../../operator/test/operator/operator-process.ts';

const LEASE = [
  '--leader-elect-lease-duration',
  '3s',
  '--leader-elect-renew-deadline',
  '2s',
  '--leader-elect-retry-period',
  '500ms',
];
const ROUNDS = LONG ? 6 : 2;
const DEVICES = 6;

const spec = (level: string) => ({
  module: { configMap: { name: 'mod', key: 'module.wasm' } },
  placement: { nodeSelector: { matchLabels: { site: 'plant' } } },
  inputs: [{ topic: 'in/{node}' }],
  config: { LEVEL: level },
  rollout: { strategy: 'Rolling', maxUnavailable: '50%' },
});

describe('a leader frozen past its Lease (SIGSTOP) and thawed (SIGCONT)', () => {
  let plane: OwnedControlPlane;
  let f: FaultFleet;
  const figures: { round: number; takeoverMs: number; refused: number }[] = [];

  before(async () => {
    plane = await startControlPlane({ auditLog: true });
    f = await startFaultFleet(plane, 'freeze', { extraConfig: LOG_PUBLISHES });
    for (let i = 0; i < DEVICES; i++) await f.device(`d${i}`, { site: 'plant' });
  });
  after(async () => {
    await f.close();
    await plane.stop();
    console.error(`[leader-freeze] ${JSON.stringify(figures)}`);
  });

  const elect = () => f.spawn(['--leader-elect', '--leader-election-namespace', f.namespace, ...LEASE]);
  const leaderOf = async (candidates: readonly OperatorProcess[]) =>
    waitFor(
      'exactly one leader',
      async () => {
        const live = candidates.filter((o) => o.child.exitCode === null && o.child.signalCode === null);
        const leading: OperatorProcess[] = [];
        for (const o of live)
          if ((await o.metric('wasmfleet_leader_is_leader').catch(() => 0)) === 1) leading.push(o);
        return leading.length === 1 ? leading[0] : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );

  it('the standby takes over, and the thawed leader writes nothing to the API server or the broker', async () => {
    elect();
    elect();
    await f.apply({ ...wasmFunction('fn', spec('0')), metadata: { name: 'fn', namespace: f.namespace } });
    await waitForFunction(f, 'fn', 'Ready everywhere', (fn) => fn.status?.ready === `${DEVICES}/${DEVICES}`);

    for (let round = 1; round <= ROUNDS; round++) {
      // Who leads right now (on a starved machine leadership may have moved since last look).
      const alive = f.operators.filter((o) => o.child.exitCode === null && o.child.signalCode === null);
      const leader = await leaderOf(alive);
      const standby = alive.find((o) => o !== leader) ?? elect();
      await waitFor(
        'the standby to be ready',
        async () => ((await standby.readyz().catch(() => 0)) === 200 ? true : undefined),
        { timeoutMs: 30_000 },
      );
      const oldPid = leader.child.pid ?? 0;
      const frozenAt = Date.now();
      leader.child.kill('SIGSTOP');
      // Work the frozen leader will find queued when it thaws: a spec edit (its watch delivers
      // it), the new leader's status writes and the documents it publishes (its MQTT client
      // receives them).
      await f.kubectl([
        'patch',
        'wasmfunction',
        'fn',
        '-n',
        f.namespace,
        '--type=merge',
        '-p',
        JSON.stringify({ spec: { config: { LEVEL: String(round) } } }),
      ]);
      const next = await waitFor(
        'the standby to take over',
        async () =>
          (await standby.metric('wasmfleet_leader_is_leader').catch(() => 0)) === 1 ? standby : undefined,
        { timeoutMs: 30_000, intervalMs: 100 },
      );
      const takeoverMs = Date.now() - frozenAt;
      await waitForFunction(
        f,
        'fn',
        `LEVEL ${round} everywhere`,
        (fn) =>
          fn.status?.currentRevision === fn.status?.updateRevision &&
          fn.status?.observedGeneration === fn.metadata.generation &&
          fn.status?.ready === `${DEVICES}/${DEVICES}`,
      );
      // Another edit while it is still frozen, so the thawed leader has a fresh reason to act.
      await f.kubectl([
        'patch',
        'wasmfunction',
        'fn',
        '-n',
        f.namespace,
        '--type=merge',
        '-p',
        JSON.stringify({ spec: { config: { LEVEL: `${round}b` } } }),
      ]);
      await sleep(300);
      const publishesBefore = publishesIn(await f.broker.log()).length;
      leader.child.kill('SIGCONT');
      // It must notice it lost the Lease and exit (the Deployment would restart it as a standby).
      await waitFor('the thawed leader to exit', () => (leader.child.exitCode !== null ? true : undefined), {
        timeoutMs: 30_000,
      });
      await sleep(2000);

      // The API server's record: the new leader's first Lease write is the takeover; after it,
      // nothing from the old leader (its User-Agent names its identity, which holds its pid).
      const audit = await readAudit(plane.auditLogPath ?? '');
      const byPid = (pid: number | undefined) => (ua: string | undefined) =>
        ua !== undefined && new RegExp(`^wasmfleet-operator \\(.*-${pid}-[a-z0-9]+\\)$`).test(ua);
      const fromNew = byPid(next.child.pid);
      const fromOld = byPid(oldPid);
      const takeover = audit.find(
        (e) =>
          e.objectRef?.resource === 'leases' &&
          e.objectRef.namespace === f.namespace &&
          isWrite(e) &&
          fromNew(e.userAgent) &&
          (e.responseStatus?.code ?? 500) < 300 &&
          micros(e.requestReceivedTimestamp) >= frozenAt * 1000,
      );
      assert.ok(takeover, 'the audit log shows the standby taking the Lease');
      // One exception, the fence itself: a Lease renewal the old leader read before the freeze
      // and sent after the thaw carries the old resourceVersion, and the API server refuses it
      // (409). Anything else, or a Lease write that was accepted, counts.
      const refusedLeaseWrite = (e: (typeof audit)[number]): boolean =>
        e.objectRef?.resource === 'leases' && e.responseStatus?.code === 409;
      const late = audit.filter(
        (e) =>
          isWrite(e) &&
          fromOld(e.userAgent) &&
          micros(e.requestReceivedTimestamp) > micros(takeover.stageTimestamp) &&
          !refusedLeaseWrite(e),
      );
      const oldLog = leader.log.join('\n');
      // The broker's record: publishes from the old leader's MQTT client after SIGCONT.
      const brokerLate = publishesIn(await f.broker.log())
        .slice(publishesBefore)
        .filter((p) => p.clientId.startsWith(`wasmfleet-operator-${oldPid}-`));
      assert.deepEqual(
        { api: late.map(describeEvent), broker: brokerLate.map((p) => p.topic) },
        { api: [], broker: [] },
        `round ${round}: the old leader wrote after losing the Lease; its log:\n${oldLog.slice(-4000)}`,
      );
      assert.match(oldLog, /leadership lost/, 'the old leader says why it stopped');
      await waitForFunction(
        f,
        'fn',
        `LEVEL ${round}b everywhere`,
        (fn) =>
          fn.status?.currentRevision === fn.status?.updateRevision &&
          fn.status?.observedGeneration === fn.metadata.generation &&
          fn.status?.ready === `${DEVICES}/${DEVICES}`,
      );
      figures.push({
        round,
        takeoverMs,
        refused: oldLog.split('\n').filter((l) => /write refused/.test(l)).length,
      });

      // The next round freezes the new leader; a fresh standby joins.
      elect();
    }
  });
});
