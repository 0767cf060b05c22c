// SPDX-License-Identifier: Apache-2.0
// The API server goes away under the operator: (1) kube-apiserver restarts (a control-plane
// upgrade) and (2) the operator's watches are cut and etcd is compacted past their
// resourceVersion, so resuming them fails with 410 Gone. Each time, drift is made while the
// operator cannot see it — a WasmFunction created, one edited, one deleted, an EdgeNode's
// labels changed — and the operator must relist (the audit log shows its LIST requests) and
// repair all of it. Each test owns its control plane (restarting the shared one would break
// every other test file).
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { startControlPlane, type OwnedControlPlane } from '@wasmfleet/test-support';
import { kubeConfigFor, startTcpProxy, type TcpProxy } from '../../operator/test/kube/helpers.ts';
import { micros, readAudit } from './support/audit.ts';
import { FleetModel, ROLLING, CANARY } from './support/fleet-model.ts';
import { startFaultFleet, type FaultFleet } from './support/fleet.ts';
import { LONG } from './support/settings.ts';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { tmpdir } from 'node:os';

const DEVICES = 6;
const ROUNDS = LONG ? 4 : 1;
const figures: Record<string, unknown>[] = [];

interface Setup {
  plane: OwnedControlPlane;
  f: FaultFleet;
  model: FleetModel;
  proxy: TcpProxy;
  pid: number;
  close(): Promise<void>;
}

/** A control plane, a fleet, and one operator process that reaches the API server through a proxy. */
async function setUp(prefix: string, watchCache: boolean): Promise<Setup> {
  const plane = await startControlPlane({ auditLog: true, watchCache });
  const f = await startFaultFleet(plane, prefix);
  const model = new FleetModel(f);
  for (let i = 0; i < DEVICES; i++)
    await model.addDevice(`d${i}`, { site: 'plant', ring: i % 2 ? 'b' : 'a' });
  const proxy = await startTcpProxy(plane.server);
  const kubeconfig = path.join(tmpdir(), `${f.namespace}-via-proxy.kubeconfig`);
  await writeFile(kubeconfig, kubeConfigFor(plane, proxy.url).exportConfig(), { mode: 0o600 });
  const operator = f.spawn([], kubeconfig);
  await model.put('edited', { selector: { ring: 'a' }, rollout: ROLLING, version: '1' });
  await model.put('deleted', { selector: { site: 'plant' }, rollout: ROLLING, version: '1' });
  await model.converge('the initial rollout');
  return {
    plane,
    f,
    model,
    proxy,
    pid: operator.child.pid ?? 0,
    async close() {
      await f.close();
      await proxy.close();
      await plane.stop();
      await rm(kubeconfig, { force: true });
    },
  };
}

/** Drift the operator cannot see: one edit, one delete, one create, one device moved. */
async function drift(model: FleetModel, round: number): Promise<void> {
  await model.update('edited', `${round + 1}`);
  if (model.live.has('deleted')) await model.remove('deleted');
  else await model.put('deleted', { selector: { site: 'plant' }, rollout: ROLLING, version: `${round}` });
  await model.put(`created-${round}`, { selector: { ring: 'b' }, rollout: CANARY, version: '1' });
  await model.relabel(`d${round % DEVICES}`, 'ring', round % 2 ? 'a' : 'b');
}

/** The operator's LIST requests (relists) per resource after `since` (ms), from the audit log. */
async function relists(
  plane: OwnedControlPlane,
  pid: number,
  since: number,
): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const e of await readAudit(plane.auditLogPath ?? '')) {
    if (e.verb !== 'list' || !e.userAgent?.includes(`-${pid}-`)) continue;
    if (micros(e.requestReceivedTimestamp) < since * 1000) continue;
    const resource = e.objectRef?.resource ?? '?';
    out[resource] = (out[resource] ?? 0) + 1;
  }
  return out;
}

describe('the API server goes away under the operator', () => {
  const teardown: (() => Promise<void>)[] = [];
  after(async () => {
    for (const t of teardown.reverse()) await t();
    console.error(`[api-server] ${JSON.stringify(figures)}`);
  });

  it('kube-apiserver restarts while drift is made: the operator relists and repairs it all', async () => {
    const s = await setUp('apirestart', true);
    teardown.push(() => s.close());
    for (let round = 1; round <= ROUNDS; round++) {
      // The operator loses the API server for the restart and a little beyond (its connections
      // come back through a load balancer later than the server itself).
      s.proxy.pause();
      const down = Date.now();
      await s.plane.restartApiServer();
      await drift(s.model, round);
      s.proxy.resume();
      const resumed = Date.now();
      const convergedMs = await s.model.converge(`API server restart ${round}`);
      const lists = await relists(s.plane, s.pid, resumed);
      assert.ok(
        (lists.wasmfunctions ?? 0) >= 1 && (lists.edgenodes ?? 0) >= 1,
        `the operator relisted: ${JSON.stringify(lists)}`,
      );
      figures.push({ fault: 'apiserver-restart', round, downMs: resumed - down, convergedMs, lists });
    }
  });

  it('watch expiry (410 Gone after etcd compaction): the operator relists and repairs the drift', async () => {
    // Watches served by etcd itself, so compaction past their resourceVersion expires them at once.
    const s = await setUp('apigone', false);
    teardown.push(() => s.close());
    for (let round = 1; round <= ROUNDS; round++) {
      s.proxy.pause();
      const down = Date.now();
      await drift(s.model, round);
      const revision = await s.plane.compactEtcd();
      s.proxy.resume();
      const resumed = Date.now();
      const convergedMs = await s.model.converge(`watch expiry ${round}`);
      const lists = await relists(s.plane, s.pid, resumed);
      // ListWatch lists again only when its resourceVersion is gone (410): these LISTs are the relist.
      assert.ok(
        (lists.wasmfunctions ?? 0) >= 1 && (lists.edgenodes ?? 0) >= 1,
        `the operator relisted: ${JSON.stringify(lists)}`,
      );
      figures.push({
        fault: 'watch-410',
        round,
        compactedAt: revision,
        downMs: resumed - down,
        convergedMs,
        lists,
      });
    }
  });
});
