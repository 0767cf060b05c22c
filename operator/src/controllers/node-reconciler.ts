// SPDX-License-Identifier: Apache-2.0
// Reconciles one device: creates its EdgeNode when it announces itself (auto-registration),
// writes its summary into status when something the summary shows changed, and marks it Offline
// after missed heartbeats or its last will. It runs only when a report changed something or the
// liveness sweep found the device gone (ADR 0023). Every EdgeNode write (a create or a status)
// takes a token from one bucket shared by all devices, so a storm (a fleet registering, a tenth
// of it going offline) reaches the API server at a bounded rate; a registration is two writes,
// the create and, straight from its answer, the first status (ADR 0038).

import {
  API_VERSION,
  EDGE_NODE_KIND,
  EDGE_NODE_PLURAL,
  GROUP,
  nodeCondition,
  VERSION,
  type EdgeNode,
  type EdgeNodeStatus,
} from '@wasmfleet/api';
import {
  isAlreadyExists,
  jsonEqual,
  patchStatus,
  KeyedTokenBucket,
  type ReconcileRequest,
  type ReconcileResult,
  type WithStatus,
} from '../kube/index.ts';
import type { FleetContext } from './fleet-context.ts';
import { edgeNodeStatus } from './node-status.ts';

const TARGET = { group: GROUP, version: VERSION, plural: EDGE_NODE_PLURAL };
const AUTO_REGISTERED_LABEL = 'wasmfleet.io/auto-registered';

export interface NodeReconcilerHooks {
  /** A device announced itself but has no EdgeNode and auto-registration is off. */
  unknownDevice?(node: string): void;
}

export function nodeReconciler(ctx: FleetContext, hooks: NodeReconcilerHooks = {}) {
  const writes = new KeyedTokenBucket(ctx.settings.nodeStatusQps, ctx.settings.nodeStatusBurst);
  const written = new WrittenNodes((node) => ctx.nodes.get(undefined, node));
  return async ({ name }: ReconcileRequest): Promise<ReconcileResult | undefined> => {
    const report = ctx.reports.get(name);
    const cached = ctx.nodes.get(undefined, name);
    if (!cached) {
      if (report?.state !== 'online') return undefined;
      // Creates and status writes share the bucket; a worker never sleeps on it (it would hold
      // up the devices behind it): the key comes back when its reserved token is valid.
      const wait = writes.take(name);
      if (wait > 0) return { requeueAfter: wait };
      const created = await register(ctx, name, hooks);
      // With identities the status waits for the informer (the identity needs the cached uid);
      // otherwise it is written now from the created object, without a round trip through the
      // watch and the queue.
      if (created === undefined || ctx.identities) return undefined;
      return writeStatus(ctx, name, created, undefined, writes, written);
    }
    await ctx.identities?.sync(name, ctx.documents.publishedFor(name), report);
    const node = written.newest(cached);
    return writeStatus(ctx, name, node, node.status?.phase, writes, written);
  };
}

/** Writes the device's summary when it differs from `node`'s; records a real phase change. */
async function writeStatus(
  ctx: FleetContext,
  name: string,
  node: EdgeNode,
  phaseBefore: string | undefined,
  writes: KeyedTokenBucket,
  written: WrittenNodes,
): Promise<ReconcileResult | undefined> {
  const statusNow = (previous: EdgeNodeStatus | undefined) =>
    edgeNodeStatus({
      report: ctx.reports.get(name),
      previous,
      now: ctx.now(),
      missedHeartbeats: ctx.settings.missedHeartbeats,
    });
  if (jsonEqual(statusNow(node.status), node.status)) return undefined;
  const wait = writes.take(name);
  if (wait > 0) return { requeueAfter: wait };
  const result = await patchStatus<EdgeNodeStatus>(
    ctx.customObjects,
    { ...TARGET, name },
    (current) => statusNow(current.status),
    { current: node as WithStatus<EdgeNodeStatus>, fieldManager: 'wasmfleet-operator' },
  );
  const status = result.object.status;
  if (!result.written) return undefined;
  written.remember(result.object as EdgeNode);
  // A device's first status is its registration, not news: no Event per device for a fleet that
  // registers (ADR 0038). A real change of phase is one.
  if (phaseBefore !== undefined && phaseBefore !== status?.phase && status?.phase !== undefined) {
    const online = nodeCondition(status, 'Online');
    ctx.recordEvent({
      regarding: { apiVersion: API_VERSION, kind: EDGE_NODE_KIND, name, uid: node.metadata.uid },
      type: status.phase === 'Online' ? 'Normal' : 'Warning',
      reason: status.phase === 'Online' ? 'DeviceOnline' : 'DeviceOffline',
      action: 'Heartbeat',
      note: online?.message ?? status.phase,
    });
  }
  return undefined;
}

/**
 * The EdgeNodes this reconciler wrote, until the informer's copy catches up: the next reconcile of
 * a device starts from what was written, not from a cache one watch event behind (that would
 * write the same status again, or take a 409 and a read). Entries the cache has caught up with
 * are dropped whenever the map has doubled, so it holds about one watch lag's worth of devices,
 * not the fleet.
 */
class WrittenNodes {
  readonly #objects = new Map<string, { node: EdgeNode; at: number }>();
  readonly #cached: (name: string) => EdgeNode | undefined;
  #pruneAt = 1_000;

  constructor(cached: (name: string) => EdgeNode | undefined) {
    this.#cached = cached;
  }

  remember(node: EdgeNode): void {
    const name = node.metadata.name;
    const now = Date.now();
    if (name !== undefined) this.#objects.set(name, { node, at: now });
    if (this.#objects.size < this.#pruneAt) return;
    for (const [key, mine] of this.#objects) {
      const cached = this.#cached(key);
      // Not cached a minute after it was written: deleted since.
      const gone = cached === undefined && now - mine.at > 60_000;
      if (gone || (cached !== undefined && this.#superseded(cached, mine.node))) this.#objects.delete(key);
    }
    this.#pruneAt = Math.max(1_000, this.#objects.size * 2);
  }

  /** The newer of the cached object and the one written last (and forgets a superseded one). */
  newest(cached: EdgeNode): EdgeNode {
    const name = cached.metadata.name ?? '';
    const mine = this.#objects.get(name)?.node;
    if (mine === undefined) return cached;
    if (this.#superseded(cached, mine)) {
      this.#objects.delete(name);
      return cached;
    }
    return mine;
  }

  #superseded(cached: EdgeNode, mine: EdgeNode): boolean {
    return version(cached) >= version(mine) || mine.metadata.uid !== cached.metadata.uid;
  }
}

function version(node: EdgeNode): number {
  return Number(node.metadata.resourceVersion ?? 0);
}

/** Creates the EdgeNode of a device that announced itself (the created object), or says why not. */
async function register(
  ctx: FleetContext,
  name: string,
  hooks: NodeReconcilerHooks,
): Promise<EdgeNode | undefined> {
  if (!ctx.settings.autoRegister) {
    hooks.unknownDevice?.(name);
    ctx.recordEvent({
      regarding: { apiVersion: API_VERSION, kind: EDGE_NODE_KIND, name },
      type: 'Warning',
      reason: 'UnknownDevice',
      action: 'Register',
      note: `device ${name} connected but has no EdgeNode and auto-registration is off; create the EdgeNode to admit it`,
    });
    return undefined;
  }
  try {
    return (await ctx.customObjects.createClusterCustomObject({
      ...TARGET,
      body: {
        apiVersion: API_VERSION,
        kind: EDGE_NODE_KIND,
        metadata: {
          name,
          labels: { ...ctx.settings.registrationLabels, [AUTO_REGISTERED_LABEL]: 'true' },
        },
        spec: {},
      },
    })) as EdgeNode;
  } catch (error) {
    // Someone else created it: the informer's add event brings it back here.
    if (!isAlreadyExists(error)) throw error;
    return undefined;
  }
}
