// SPDX-License-Identifier: Apache-2.0
// The operator's watch table (docs/adr/0036): which informer events wake which controller. The
// informers are stand-ins that replay events into the table's handlers; placement is the real
// PlacementBook, so "the functions a new device takes" is the scheduler's answer.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { EdgeNode, WasmFunction } from '@wasmfleet/api';
import type { Cache } from '../../src/controllers/typed-cache.ts';
import { PlacementBook } from '../../src/fleet/placement-book.ts';
import { schedulableFunction } from '../../src/fleet/scheduling-view.ts';
import { startWatches, type InformerEventType, type InformerHandler } from '../../src/kube/index.ts';
import type { FleetInformers } from '../../src/wiring/fleet-informers.ts';
import { fleetWatches, nodeChangeBatch } from '../../src/wiring/fleet-watches.ts';

/** An informer stand-in: handlers subscribe with `on`, `emit` replays an event to them. */
function standIn() {
  const handlers = new Set<InformerHandler<KubernetesObject>>();
  return {
    on: (handler: InformerHandler<KubernetesObject>) => {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
    emit: (type: InformerEventType, obj: KubernetesObject) => {
      for (const handler of handlers) handler(type, obj, undefined);
    },
  };
}

const fn = (name: string, spec: Partial<WasmFunction['spec']> = {}): WasmFunction => ({
  apiVersion: 'wasmfleet.io/v1alpha1',
  kind: 'WasmFunction',
  metadata: { name, namespace: 'ns' },
  spec: { module: { url: 'https://example.test/f.wasm', sha256: 'a'.repeat(64) }, inputs: [], ...spec },
});

const device = (name: string): EdgeNode => ({
  apiVersion: 'wasmfleet.io/v1alpha1',
  kind: 'EdgeNode',
  metadata: { name },
  spec: {},
  status: { phase: 'Online' },
});

function cacheOf<T extends { metadata: { namespace?: string; name?: string } }>(items: T[]): Cache<T> {
  return {
    get: (namespace, name) =>
      items.find((i) => i.metadata.namespace === namespace && i.metadata.name === name),
    getByKey: (key) => items.find((i) => `${i.metadata.namespace ?? ''}/${i.metadata.name ?? ''}` === key),
    list: (namespace) => items.filter((i) => namespace === undefined || i.metadata.namespace === namespace),
  };
}

function harness(functions: WasmFunction[]) {
  const informers = { functions: standIn(), nodes: standIn(), configMaps: standIn(), secrets: standIn() };
  const placement = new PlacementBook();
  placement.init(functions.map(schedulableFunction), [], new Map(), Date.now());
  const woken = { functions: new Set<string>(), nodes: new Set<string>() };
  const queues = {
    functions: { add: (key: string) => woken.functions.add(key) },
    nodes: { add: (key: string) => woken.nodes.add(key) },
  };
  // EdgeNode changes reach placement in batches (ADR 0038); `settle` applies the waiting one now.
  const nodeChanges = nodeChangeBatch(placement, queues.functions);
  const stop = startWatches(
    queues,
    fleetWatches(informers as unknown as FleetInformers, { functions: cacheOf(functions), nodeChanges }),
  );
  return { informers, woken, stop, settle: () => nodeChanges.flush() };
}

describe('the watch table', () => {
  it('names every kind the operator watches, once', () => {
    const { informers } = harness([]);
    const kinds = fleetWatches(informers as unknown as FleetInformers, {
      functions: cacheOf([]),
      nodeChanges: nodeChangeBatch(new PlacementBook(), { add: () => undefined }),
    }).map((w) => w.kind);
    assert.deepEqual(kinds, ['WasmFunction', 'EdgeNode', 'ConfigMap', 'Secret']);
  });

  it('a WasmFunction event wakes that function only', () => {
    const { informers, woken } = harness([]);
    informers.functions.emit('update', fn('temp-alert') as unknown as KubernetesObject);
    assert.deepEqual([...woken.functions], ['ns/temp-alert']);
    assert.deepEqual([...woken.nodes], []);
  });

  it('a new EdgeNode wakes itself and the functions placed on it; an update wakes no device', () => {
    const { informers, woken, settle } = harness([fn('everywhere')]);
    informers.nodes.emit('add', device('pi-1') as unknown as KubernetesObject);
    settle();
    assert.deepEqual([...woken.nodes], ['pi-1']);
    assert.deepEqual([...woken.functions], ['ns/everywhere']);
    woken.functions.clear();
    woken.nodes.clear();
    informers.nodes.emit('update', device('pi-1') as unknown as KubernetesObject);
    settle();
    assert.deepEqual([...woken.nodes], [], 'an update of a known device is not a registration');
    assert.deepEqual([...woken.functions], [], 'an unchanged device moves no function');
  });

  it('a ConfigMap or Secret wakes only the functions in its namespace that name it', () => {
    const { informers, woken } = harness([
      fn('uses-config', { configMapRef: { name: 'thresholds' } }),
      fn('uses-module', { module: { configMap: { name: 'thresholds', key: 'f.wasm' } }, inputs: [] }),
      fn('uses-secret', { secretRef: { name: 'token' } }),
      fn('pulls', { module: { oci: 'registry.test/f:1', pullSecretRef: { name: 'token' } }, inputs: [] }),
      fn('unrelated'),
    ]);
    informers.configMaps.emit('update', { metadata: { namespace: 'ns', name: 'thresholds' } });
    assert.deepEqual([...woken.functions].sort(), ['ns/uses-config', 'ns/uses-module']);
    woken.functions.clear();
    informers.secrets.emit('delete', { metadata: { namespace: 'ns', name: 'token' } });
    assert.deepEqual([...woken.functions].sort(), ['ns/pulls', 'ns/uses-secret']);
    woken.functions.clear();
    informers.configMaps.emit('add', { metadata: { namespace: 'other', name: 'thresholds' } });
    assert.deepEqual([...woken.functions], [], 'same name, other namespace');
  });

  it('stops waking anything once unsubscribed', () => {
    const { informers, woken, stop } = harness([]);
    stop();
    informers.functions.emit('add', fn('late') as unknown as KubernetesObject);
    assert.deepEqual([...woken.functions], []);
  });
});
