// SPDX-License-Identifier: Apache-2.0
// Conditions (pure) and status writes through /status against the real API server, including
// ten concurrent writers on one object with no lost update.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { uniqueName } from '@wasmfleet/test-support';
import {
  findCondition,
  isConditionTrue,
  mergePatchDiff,
  patchStatus,
  removeCondition,
  setCondition,
  type Condition,
} from '../../src/kube/index.ts';
import {
  controlPlane,
  createNamespace,
  createTestCrd,
  kubeConfigFor,
  type ControlPlane,
  type TestCrd,
} from './helpers.ts';

describe('setCondition', () => {
  const t0 = new Date('2025-01-01T00:00:00.123Z');
  const t1 = new Date('2025-01-01T00:05:00Z');

  it('adds a new condition stamped with now (second precision)', () => {
    const list = setCondition(
      undefined,
      { type: 'Ready', status: 'False', reason: 'Pending', message: 'waiting', observedGeneration: 1 },
      t0,
    );
    assert.deepEqual(list, [
      {
        type: 'Ready',
        status: 'False',
        reason: 'Pending',
        message: 'waiting',
        observedGeneration: 1,
        lastTransitionTime: '2025-01-01T00:00:00Z',
      },
    ]);
  });

  it('keeps lastTransitionTime when only reason/message/generation change, moves it when status changes', () => {
    const a = setCondition(
      [],
      { type: 'Ready', status: 'False', reason: 'Pending', message: 'waiting', observedGeneration: 1 },
      t0,
    );
    const b = setCondition(
      a,
      { type: 'Ready', status: 'False', reason: 'NoDevices', message: 'no match', observedGeneration: 2 },
      t1,
    );
    assert.equal(b[0]?.lastTransitionTime, '2025-01-01T00:00:00Z');
    assert.equal(b[0].reason, 'NoDevices');
    assert.equal(b[0].observedGeneration, 2);
    const c = setCondition(
      b,
      { type: 'Ready', status: 'True', reason: 'AllReady', message: 'ok', observedGeneration: 2 },
      t1,
    );
    assert.equal(c[0]?.lastTransitionTime, '2025-01-01T00:05:00Z');
    assert.equal(a[0]?.reason, 'Pending', 'the input list is not modified');
  });

  it('updates in place and keeps other conditions in order', () => {
    let list: Condition[] = [];
    for (const type of ['Ready', 'Progressing', 'Degraded']) {
      list = setCondition(list, { type, status: 'Unknown', reason: 'Init', message: '' }, t0);
    }
    list = setCondition(list, { type: 'Progressing', status: 'True', reason: 'Rolling', message: '' }, t1);
    assert.deepEqual(
      list.map((c) => c.type),
      ['Ready', 'Progressing', 'Degraded'],
    );
    assert.equal(isConditionTrue(list, 'Progressing'), true);
    assert.equal(findCondition(list, 'Missing'), undefined);
    assert.deepEqual(
      removeCondition(list, 'Ready').map((c) => c.type),
      ['Progressing', 'Degraded'],
    );
  });

  it('rejects what the API server would reject', () => {
    assert.throws(
      () => setCondition([], { type: 'ready', status: 'True', reason: 'Ok', message: '' }, t0),
      /CamelCase/,
    );
    assert.throws(
      () => setCondition([], { type: 'Ready', status: 'True', reason: '', message: '' }, t0),
      /reason/,
    );
  });
});

describe('mergePatchDiff', () => {
  it('emits only changes, nulls for removed keys, whole arrays', () => {
    assert.equal(mergePatchDiff({ a: 1, b: [1] }, { a: 1, b: [1] }), undefined);
    assert.deepEqual(
      mergePatchDiff({ a: 1, b: { c: 1, d: 2 }, e: [1, 2] }, { a: 1, b: { c: 3 }, e: [2], f: 'x' }),
      {
        b: { c: 3, d: null },
        e: [2],
        f: 'x',
      },
    );
    assert.deepEqual(mergePatchDiff(undefined, { a: 1 }), { a: 1 });
  });
});

describe('patchStatus against the API server', () => {
  const uniqueGizmo = uniqueName('gizmo');
  let cp: ControlPlane;
  let namespace: string;
  let widgets: TestCrd;
  let gizmos: TestCrd;
  let api: CustomObjectsApi;

  interface WidgetStatus {
    observedGeneration?: number;
    count?: number;
    conditions?: Condition[];
    extra?: string;
  }

  before(async () => {
    cp = await controlPlane();
    namespace = await createNamespace(cp, 'kube-status');
    [widgets, gizmos] = await Promise.all([
      createTestCrd(cp, { scope: 'Namespaced', kind: 'Widget' }),
      createTestCrd(cp, { scope: 'Cluster', kind: 'Gizmo' }),
    ]);
    api = kubeConfigFor(cp).makeApiClient(CustomObjectsApi);
  });

  after(async () => {
    await cp.kubectl(['delete', 'namespace', namespace, '--wait=false']);
    await cp.kubectl([
      'delete',
      'crd',
      `${widgets.plural}.${widgets.group}`,
      `${gizmos.plural}.${gizmos.group}`,
      '--wait=false',
    ]);
  });

  const createWidget = async (name: string): Promise<void> => {
    await api.createNamespacedCustomObject({
      group: widgets.group,
      version: 'v1',
      namespace,
      plural: widgets.plural,
      body: { apiVersion: widgets.apiVersion, kind: widgets.kind, metadata: { name }, spec: { size: 1 } },
    });
  };

  it('ten concurrent writers on one object: every update survives (409s retried)', async () => {
    await createWidget('contended');
    const target = { ...widgets, namespace, name: 'contended' };
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        patchStatus<WidgetStatus>(api, target, (current) => ({
          ...current.status,
          count: (current.status?.count ?? 0) + 1,
          conditions: setCondition(
            current.status?.conditions,
            { type: `Writer${i}`, status: 'True', reason: 'Wrote', message: `writer ${i}` },
            new Date(),
          ),
        })),
      ),
    );
    const final = (await api.getNamespacedCustomObjectStatus({
      group: widgets.group,
      version: 'v1',
      namespace,
      plural: widgets.plural,
      name: 'contended',
    })) as {
      status: WidgetStatus;
    };
    assert.equal(final.status.count, 10, 'every increment landed');
    assert.deepEqual(
      final.status.conditions?.map((c) => c.type).sort(),
      Array.from({ length: 10 }, (_, i) => `Writer${i}`).sort(),
      'no writer lost its condition',
    );
    const conflicts = results.reduce((n, r) => n + r.conflicts, 0);
    assert.ok(results.every((r) => r.written));
    assert.ok(conflicts > 0, 'the writers really did collide (otherwise this proves nothing)');
  });

  it('writes only status (never spec), sets observedGeneration, removes dropped fields, skips no-ops', async () => {
    await createWidget('gen');
    const target = { ...widgets, namespace, name: 'gen' };
    await api.patchNamespacedCustomObject({
      group: widgets.group,
      version: 'v1',
      namespace,
      plural: widgets.plural,
      name: 'gen',
      body: [{ op: 'replace', path: '/spec/size', value: 2 }],
    });
    const first = await patchStatus<WidgetStatus>(api, target, (current) => ({
      observedGeneration: current.metadata?.generation ?? 0,
      extra: 'x',
    }));
    assert.equal(first.object.status?.observedGeneration, 2);
    assert.equal(first.object.metadata?.generation, 2, 'a status write does not bump the generation');
    assert.equal((first.object as { spec?: { size?: number } }).spec?.size, 2);

    const second = await patchStatus<WidgetStatus>(api, target, (current) => ({
      observedGeneration: current.status?.observedGeneration ?? 0,
    }));
    assert.equal(second.object.status?.extra, undefined, 'a field left out of the new status is removed');

    const noop = await patchStatus<WidgetStatus>(api, target, (current) => current.status, {
      current: second.object,
    });
    assert.equal(noop.written, false);
    assert.equal(noop.object.metadata?.resourceVersion, second.object.metadata?.resourceVersion);
  });

  it('retries from a stale cached copy and works for cluster-scoped kinds', async () => {
    await api.createClusterCustomObject({
      group: gizmos.group,
      version: 'v1',
      plural: gizmos.plural,
      body: { apiVersion: gizmos.apiVersion, kind: gizmos.kind, metadata: { name: uniqueGizmo }, spec: {} },
    });
    const target = { ...gizmos, name: uniqueGizmo };
    const stale = await patchStatus<WidgetStatus>(api, target, () => ({ count: 1 }));
    await patchStatus<WidgetStatus>(api, target, (c) => ({ count: (c.status?.count ?? 0) + 1 }));
    const result = await patchStatus<WidgetStatus>(
      api,
      target,
      (c) => ({ count: (c.status?.count ?? 0) + 1 }),
      { current: stale.object },
    );
    assert.equal(result.conflicts, 1, 'the stale copy was refused once');
    assert.equal(result.object.status?.count, 3);
  });

  it('fails with context when the object does not exist', async () => {
    await assert.rejects(
      patchStatus<WidgetStatus>(api, { ...widgets, namespace, name: 'absent' }, () => ({ count: 1 })),
      (error: Error) => error.message.includes(`${namespace}/absent`) && error.cause !== undefined,
    );
  });
});
