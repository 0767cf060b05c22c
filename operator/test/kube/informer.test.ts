// SPDX-License-Identifier: Apache-2.0
// Self-healing informers against the real API server: events with old objects, a typed cache,
// selectors, namespaced and cluster-scoped custom resources, periodic resync, and — the point —
// a watch whose connections are cut heals itself and its cache converges on what changed meanwhile.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  CoreV1Api,
  CustomObjectsApi,
  type KubernetesObject,
  type V1ConfigMap,
} from '@kubernetes/client-node';
import { waitFor } from '@wasmfleet/test-support';
import {
  Informer,
  configMapSource,
  customResourceSource,
  secretSource,
  waitForCacheSync,
  type InformerEventType,
} from '../../src/kube/index.ts';
import {
  controlPlane,
  createNamespace,
  createTestCrd,
  kubeConfigFor,
  startTcpProxy,
  type ControlPlane,
} from './helpers.ts';

interface Seen<T> {
  type: InformerEventType;
  obj: T;
  old: T | undefined;
}

let cp: ControlPlane;
let namespace: string;
let core: CoreV1Api;
const informers: Informer<KubernetesObject>[] = [];

function track<T extends KubernetesObject>(informer: Informer<T>): Informer<T> {
  informers.push(informer as unknown as Informer<KubernetesObject>);
  return informer;
}

const cm = (name: string, data: Record<string, string>): V1ConfigMap => ({
  metadata: { name, namespace },
  data,
});
const labeled = (name: string, data: Record<string, string>): V1ConfigMap => ({
  metadata: { name, namespace, labels: { heal: 'yes' } },
  data,
});

before(async () => {
  cp = await controlPlane();
  namespace = await createNamespace(cp, 'kube-informer');
  core = kubeConfigFor(cp).makeApiClient(CoreV1Api);
});

after(async () => {
  await Promise.all(informers.map((i) => i.stop()));
  await cp.kubectl(['delete', 'namespace', namespace, '--wait=false']);
});

describe('Informer', () => {
  it('syncs, caches ConfigMaps, and hands handlers (type, obj, oldObj)', async () => {
    await core.createNamespacedConfigMap({ namespace, body: cm('before-start', { a: '1' }) });
    const kc = kubeConfigFor(cp);
    const informer = track(new Informer(kc, configMapSource(kc, { namespace })));
    const seen: Seen<V1ConfigMap>[] = [];
    informer.on((type, obj, old) => seen.push({ type, obj, old }));
    assert.equal(informer.hasSynced(), false);
    informer.start();
    await informer.waitForCacheSync(20_000);
    assert.equal(informer.hasSynced(), true);
    assert.equal(informer.get(namespace, 'before-start')?.data?.a, '1', 'the initial list is in the cache');
    assert.ok(seen.some((s) => s.type === 'add' && s.obj.metadata?.name === 'before-start'));

    await core.createNamespacedConfigMap({ namespace, body: cm('live', { v: 'one' }) });
    await core.replaceNamespacedConfigMap({ namespace, name: 'live', body: cm('live', { v: 'two' }) });
    await waitFor('update event', () =>
      seen.find((s) => s.type === 'update' && s.obj.metadata?.name === 'live'),
    );
    const update = seen.find((s) => s.type === 'update' && s.obj.metadata?.name === 'live');
    assert.equal(update?.obj.data?.v, 'two');
    assert.equal(update.old?.data?.v, 'one', 'the handler sees the previous state');

    await core.deleteNamespacedConfigMap({ namespace, name: 'live' });
    const deleted = await waitFor('delete event', () =>
      seen.find((s) => s.type === 'delete' && s.obj.metadata?.name === 'live'),
    );
    assert.equal(deleted.old?.data?.v, 'two');
    assert.equal(informer.get(namespace, 'live'), undefined);
    assert.deepEqual(
      informer.list(namespace).map((o) => o.metadata?.name),
      ['before-start'],
    );
  });

  it('caches objects without managedFields, from the list and from the watch (ADR 0045)', async () => {
    // Server-side apply's bookkeeping was half of what a cached EdgeNode cost at fleet size.
    await core.createNamespacedConfigMap({ namespace, body: cm('listed-mf', { a: '1' }) });
    const kc = kubeConfigFor(cp);
    const informer = track(new Informer(kc, configMapSource(kc, { namespace })));
    const handed: V1ConfigMap[] = [];
    informer.on((_type, obj) => handed.push(obj));
    informer.start();
    await informer.waitForCacheSync(20_000);
    await core.createNamespacedConfigMap({ namespace, body: cm('watched-mf', { a: '1' }) });
    const watched = await waitFor('the watched ConfigMap', () => informer.get(namespace, 'watched-mf'));
    const listed = informer.get(namespace, 'listed-mf');
    const onServer = await core.readNamespacedConfigMap({ namespace, name: 'watched-mf' });
    assert.ok((onServer.metadata?.managedFields ?? []).length > 0, 'the API server keeps them');
    assert.equal(listed?.metadata?.managedFields, undefined, 'none from the list');
    assert.equal(watched.metadata?.managedFields, undefined, 'none from the watch');
    assert.ok(
      handed.every((o) => o.metadata?.managedFields === undefined),
      'none handed to handlers',
    );
    assert.equal(watched.data?.a, '1', 'the rest of the object is kept');
  });

  it('heals after the API connection is cut and refused for a while, and converges', async () => {
    const proxy = await startTcpProxy(cp.server);
    try {
      const kc = kubeConfigFor(cp, proxy.url);
      const errors: unknown[] = [];
      const informer = track(
        new Informer(kc, configMapSource(kc, { namespace, labelSelector: 'heal=yes' }), {
          restartBaseMs: 100,
          restartMaxMs: 400,
          onError: (error) => errors.push(error),
        }),
      );
      await core.createNamespacedConfigMap({ namespace, body: labeled('keep', { v: '1' }) });
      await core.createNamespacedConfigMap({ namespace, body: labeled('doomed', { v: '1' }) });
      informer.start();
      await informer.waitForCacheSync(20_000);
      assert.deepEqual(
        informer
          .list()
          .map((o) => o.metadata?.name)
          .sort(),
        ['doomed', 'keep'],
      );

      // The API server "goes away": the watch dies and lists fail until it is back.
      proxy.pause();
      await waitFor('the informer to notice', () => (errors.length > 0 ? true : undefined), {
        timeoutMs: 10_000,
      });
      await core.replaceNamespacedConfigMap({
        namespace,
        name: 'keep',
        body: labeled('keep', { v: '2' }),
      });
      await core.deleteNamespacedConfigMap({ namespace, name: 'doomed' });
      await core.createNamespacedConfigMap({ namespace, body: labeled('born', { v: '1' }) });
      await new Promise((resolve) => setTimeout(resolve, 700));
      assert.equal(informer.get(namespace, 'keep')?.data?.v, '1', 'nothing can arrive while cut off');
      proxy.resume();

      await waitFor(
        'the cache to converge after the outage',
        () => {
          const names = informer
            .list()
            .map((o) => o.metadata?.name)
            .sort();
          return names.join(',') === 'born,keep' && informer.get(namespace, 'keep')?.data?.v === '2'
            ? true
            : undefined;
        },
        { timeoutMs: 15_000 },
      );
      assert.ok(informer.stats.restarts >= 1, `restarted ${informer.stats.restarts} times`);

      // A second, plain connection drop (no refusal) heals too, and live events flow again.
      const before = informer.stats.connections;
      proxy.dropAll();
      await waitFor(
        'a new watch connection',
        () => (informer.stats.connections > before ? true : undefined),
        {
          timeoutMs: 10_000,
        },
      );
      await core.deleteNamespacedConfigMap({ namespace, name: 'born' });
      await waitFor(
        'the delete after the drop',
        () => (informer.get(namespace, 'born') === undefined ? true : undefined),
        {
          timeoutMs: 10_000,
        },
      );
      await informer.stop();
    } finally {
      await proxy.close();
    }
  });

  it('applies label selectors to Secrets and resyncs every cached object periodically', async () => {
    await core.createNamespacedSecret({
      namespace,
      body: { metadata: { name: 'mine', namespace, labels: { app: 'wasmfleet' } }, stringData: { k: 'v' } },
    });
    await core.createNamespacedSecret({
      namespace,
      body: { metadata: { name: 'other', namespace }, stringData: { k: 'v' } },
    });
    const kc = kubeConfigFor(cp);
    const informer = track(
      new Informer(kc, secretSource(kc, { namespace, labelSelector: 'app=wasmfleet' }), { resyncMs: 300 }),
    );
    const resyncs: string[] = [];
    informer.on((type, obj, old) => {
      if (type === 'resync') {
        assert.equal(old, obj);
        resyncs.push(obj.metadata?.name ?? '');
      }
    });
    informer.start();
    await waitForCacheSync([informer], 20_000);
    assert.deepEqual(
      informer.list().map((s) => s.metadata?.name),
      ['mine'],
    );
    await waitFor('two resyncs', () => (resyncs.length >= 2 ? true : undefined), { timeoutMs: 5_000 });
    assert.ok(resyncs.every((name) => name === 'mine'));
    await informer.stop();
  });

  it('watches namespaced and cluster-scoped custom resources', async () => {
    const widgets = await createTestCrd(cp, { scope: 'Namespaced', kind: 'Widget' });
    const gizmos = await createTestCrd(cp, { scope: 'Cluster', kind: 'Gizmo' });
    const kc = kubeConfigFor(cp);
    const custom = kc.makeApiClient(CustomObjectsApi);
    await custom.createNamespacedCustomObject({
      group: widgets.group,
      version: 'v1',
      namespace,
      plural: widgets.plural,
      body: { apiVersion: widgets.apiVersion, kind: 'Widget', metadata: { name: 'w1' }, spec: { size: 1 } },
    });
    const widgetInformer = track(
      new Informer(
        kc,
        customResourceSource<KubernetesObject & { spec?: { size?: number } }>(kc, widgets, { namespace }),
      ),
    );
    const gizmoInformer = track(new Informer(kc, customResourceSource(kc, gizmos)));
    const gizmoEvents: string[] = [];
    gizmoInformer.on((type, obj) => gizmoEvents.push(`${type}:${obj.metadata?.name ?? ''}`));
    widgetInformer.start();
    gizmoInformer.start();
    await waitForCacheSync([widgetInformer, gizmoInformer], 20_000);
    assert.equal(widgetInformer.get(namespace, 'w1')?.spec?.size, 1);
    assert.deepEqual(gizmoInformer.list(), []);

    await custom.createClusterCustomObject({
      group: gizmos.group,
      version: 'v1',
      plural: gizmos.plural,
      body: { apiVersion: gizmos.apiVersion, kind: 'Gizmo', metadata: { name: 'g1' }, spec: {} },
    });
    await waitFor('cluster-scoped add', () => gizmoInformer.get(undefined, 'g1'));
    assert.equal(gizmoInformer.getByKey('g1')?.metadata?.name, 'g1', 'cluster-scoped keys are plain names');
    await custom.deleteClusterCustomObject({
      group: gizmos.group,
      version: 'v1',
      plural: gizmos.plural,
      name: 'g1',
    });
    await waitFor('cluster-scoped delete', () => (gizmoInformer.get(undefined, 'g1') ? undefined : true));
    assert.deepEqual(gizmoEvents, ['add:g1', 'delete:g1']);
    await Promise.all([widgetInformer.stop(), gizmoInformer.stop()]);
    await cp.kubectl([
      'delete',
      'crd',
      `${widgets.plural}.${widgets.group}`,
      `${gizmos.plural}.${gizmos.group}`,
      '--wait=false',
    ]);
  });

  it('reports a sync timeout with the reason when the API server is unreachable', async () => {
    const proxy = await startTcpProxy(cp.server);
    proxy.pause();
    try {
      const kc = kubeConfigFor(cp, proxy.url);
      const informer = track(
        new Informer(kc, configMapSource(kc, { namespace }), { restartBaseMs: 50, restartMaxMs: 100 }),
      );
      informer.start();
      await assert.rejects(informer.waitForCacheSync(1_000), /did not sync within 1000 ms/);
      assert.equal(informer.hasSynced(), false);
      assert.ok(informer.stats.restarts >= 1, 'it keeps retrying in the background');
      proxy.resume();
      await informer.waitForCacheSync(15_000);
      await informer.stop();
    } finally {
      await proxy.close();
    }
  });
});
