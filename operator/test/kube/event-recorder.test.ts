// SPDX-License-Identifier: Apache-2.0
// The Event recorder: aggregation and spam filtering on fake timers with a recording fake API,
// then the real thing against the API server (a flapping device makes one Event, count 50).
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it, mock } from 'node:test';
import { EventsV1Api, type EventsV1Event } from '@kubernetes/client-node';
import { EventRecorder, regardingOf, type EventInput, type EventsClient } from '../../src/kube/index.ts';
import { controlPlane, createNamespace, kubeConfigFor, type ControlPlane } from './helpers.ts';

interface Call {
  verb: 'create' | 'patch';
  name: string;
  body: unknown;
}

function fakeApi(): { api: EventsClient; calls: Call[] } {
  const calls: Call[] = [];
  const api = {
    createNamespacedEvent: (param: { namespace: string; body: EventsV1Event }) => {
      calls.push({ verb: 'create', name: param.body.metadata?.name ?? '', body: param.body });
      return Promise.resolve(param.body);
    },
    patchNamespacedEvent: (param: { name: string; body: unknown }) => {
      calls.push({ verb: 'patch', name: param.name, body: param.body });
      return Promise.resolve({} as EventsV1Event);
    },
  } as unknown as EventsClient;
  return { api, calls };
}

const settle = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
};

const device = (name: string, note = 'heartbeat missed'): EventInput => ({
  regarding: { apiVersion: 'wasmfleet.io/v1alpha1', kind: 'EdgeNode', name },
  type: 'Warning',
  reason: 'DeviceOffline',
  action: 'MarkOffline',
  note,
});

describe('EventRecorder (fake API, fake timers)', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 }));
  afterEach(() => mock.timers.reset());

  it('turns a burst of identical occurrences into one create and one count update per flush', async () => {
    const { api, calls } = fakeApi();
    const recorder = new EventRecorder(api, {
      reportingController: 'wasmfleet.io/operator',
      reportingInstance: 'op-0',
      flushMs: 1000,
    });
    for (let i = 0; i < 100; i++) recorder.record(device('pi-1'));
    await settle();
    assert.deepEqual(
      calls.map((c) => c.verb),
      ['create'],
    );
    const created = calls[0]?.body as EventsV1Event;
    assert.equal(created.metadata?.namespace, 'default', 'cluster-scoped objects report into default');
    assert.equal(created.reportingController, 'wasmfleet.io/operator');
    assert.match(
      JSON.stringify(created.eventTime),
      /\.\d{6}Z"$/,
      'eventTime is a MicroTime (6 fractional digits)',
    );
    mock.timers.tick(1000);
    await settle();
    assert.deepEqual(
      calls.map((c) => c.verb),
      ['create', 'patch'],
    );
    assert.equal((calls[1]?.body as { series: { count: number } }).series.count, 100);
    mock.timers.tick(5000);
    await settle();
    assert.equal(calls.length, 2, 'no writes when nothing new happened');
    assert.deepEqual(recorder.stats, { created: 1, patched: 1, aggregated: 99, dropped: 0 });
  });

  it('keeps different reasons/notes apart and starts a new Event after the window', async () => {
    const { api, calls } = fakeApi();
    const recorder = new EventRecorder(api, {
      reportingController: 'c',
      reportingInstance: 'i',
      windowMs: 60_000,
      flushMs: 1000,
    });
    // A flapping device: offline, online, offline, online…
    for (let i = 0; i < 20; i++) recorder.record(device('pi-2', i % 2 ? 'back online' : 'heartbeat missed'));
    await settle();
    assert.equal(calls.filter((c) => c.verb === 'create').length, 2);
    mock.timers.tick(1000);
    await settle();
    assert.equal(calls.filter((c) => c.verb === 'patch').length, 2);
    mock.timers.tick(61_000);
    recorder.record(device('pi-2'));
    await settle();
    assert.equal(calls.filter((c) => c.verb === 'create').length, 3, 'outside the window it is a new Event');
    await recorder.close();
  });

  it('drops new Events for one object beyond the burst until tokens refill', async () => {
    const { api, calls } = fakeApi();
    const recorder = new EventRecorder(api, {
      reportingController: 'c',
      reportingInstance: 'i',
      burst: 5,
      refillMs: 10_000,
    });
    for (let i = 0; i < 12; i++) recorder.record(device('pi-3', `reading ${i} out of range`));
    recorder.record(device('pi-4', 'other object is unaffected'));
    await settle();
    assert.equal(calls.length, 6);
    assert.equal(recorder.stats.dropped, 7);
    mock.timers.tick(10_000);
    recorder.record(device('pi-3', 'one more after the refill'));
    await settle();
    assert.equal(calls.length, 7);
    await recorder.close();
  });

  it('bounds new Events across all objects: a storm over 10,000 devices is 200 writes, then 20 a second', async () => {
    const { api, calls } = fakeApi();
    const recorder = new EventRecorder(api, { reportingController: 'c', reportingInstance: 'i' });
    for (let i = 0; i < 10_000; i++) recorder.record(device(`storm-${i}`));
    await settle();
    assert.equal(calls.length, 200);
    assert.equal(recorder.stats.dropped, 9_800);
    mock.timers.tick(1000);
    for (let i = 0; i < 100; i++) recorder.record(device(`later-${i}`));
    await settle();
    assert.equal(calls.length, 220, 'one second later, 20 more');
    await recorder.close();
  });

  it('reports API failures to onError and never throws from record()', async () => {
    const errors: unknown[] = [];
    const api = {
      createNamespacedEvent: () => Promise.reject(Object.assign(new Error('forbidden'), { code: 403 })),
      patchNamespacedEvent: () => Promise.reject(new Error('unreachable')),
    } as unknown as EventsClient;
    const recorder = new EventRecorder(api, {
      reportingController: 'c',
      reportingInstance: 'i',
      onError: (e) => errors.push(e),
    });
    recorder.record(device('pi-5'));
    await recorder.close();
    assert.equal(errors.length, 1);
    assert.match((errors[0] as Error).message, /DeviceOffline for EdgeNode pi-5/);
  });
});

describe('EventRecorder against the API server', () => {
  let cp: ControlPlane;
  let namespace: string;
  let api: EventsV1Api;

  before(async () => {
    cp = await controlPlane();
    namespace = await createNamespace(cp, 'kube-events');
    api = kubeConfigFor(cp).makeApiClient(EventsV1Api);
  });
  after(async () => {
    await cp.kubectl(['delete', 'namespace', namespace, '--wait=false']);
  });

  it('a flapping object yields one Event per distinct note with the right series count', async () => {
    const errors: unknown[] = [];
    const recorder = new EventRecorder(api, {
      reportingController: 'wasmfleet.io/operator',
      reportingInstance: 'test',
      flushMs: 100,
      onError: (e) => errors.push(e),
    });
    const regarding = regardingOf(
      { metadata: { name: 'temp-alert', namespace, uid: '1d5c5a8e-0000-4000-8000-000000000001' } },
      {
        apiVersion: 'wasmfleet.io/v1alpha1',
        kind: 'WasmFunction',
      },
    );
    for (let i = 0; i < 50; i++) {
      recorder.record({
        regarding,
        type: 'Warning',
        reason: 'ModuleUnreachable',
        action: 'Resolve',
        note: 'GET https://artifacts/x.wasm: 503',
      });
      if (i % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    recorder.record({
      regarding,
      type: 'Normal',
      reason: 'ModuleResolved',
      action: 'Resolve',
      note: 'sha256:abc',
    });
    await recorder.close();
    assert.deepEqual(errors, []);

    const list = await api.listNamespacedEvent({ namespace });
    const byReason = new Map(list.items.map((e) => [e.reason, e]));
    assert.equal(list.items.length, 2);
    const warning = byReason.get('ModuleUnreachable');
    assert.equal(warning?.series?.count, 50);
    assert.equal(warning.type, 'Warning');
    assert.equal(warning.regarding?.name, 'temp-alert');
    assert.equal(warning.reportingController, 'wasmfleet.io/operator');
    assert.equal(byReason.get('ModuleResolved')?.series, undefined, 'a single occurrence has no series');
    assert.ok(
      recorder.stats.created + recorder.stats.patched <= 2 + 10,
      `API writes: ${JSON.stringify(recorder.stats)}`,
    );
  });
});
