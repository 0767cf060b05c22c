// SPDX-License-Identifier: Apache-2.0
// Reconciles one device: creates its EdgeNode when it announces itself (auto-registration),
// writes its summary into status when something the summary shows changed, and marks it Offline
// after missed heartbeats or its last will. It runs only when a report changed something or the
// liveness sweep found the device gone (ADR 0023), and every status write takes a token from one
// bucket shared by all devices, so a storm (a fleet registering, a tenth of it going offline)
// reaches the API server at a bounded rate.

import {
  API_VERSION,
  EDGE_NODE_KIND,
  EDGE_NODE_PLURAL,
  GROUP,
  VERSION,
  type EdgeNodeStatus,
} from '@wasmfleet/api';
import {
  isAlreadyExists,
  jsonEqual,
  patchStatus,
  TokenBucketRateLimiter,
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
  const writes = new TokenBucketRateLimiter(ctx.settings.nodeStatusQps, ctx.settings.nodeStatusBurst);
  return async ({ name }: ReconcileRequest): Promise<ReconcileResult | undefined> => {
    const report = ctx.reports.get(name);
    const node = ctx.nodes.get(undefined, name);
    if (!node) {
      if (report?.state === 'online') await register(ctx, name, hooks);
      // The informer's add event brings the new object (with its resourceVersion) back here.
      return undefined;
    }
    await ctx.identities?.sync(name, ctx.documents.publishedFor(name), report);
    const statusNow = (previous: EdgeNodeStatus | undefined) =>
      edgeNodeStatus({
        report: ctx.reports.get(name),
        previous,
        now: ctx.now(),
        missedHeartbeats: ctx.settings.missedHeartbeats,
      });
    if (jsonEqual(statusNow(node.status), node.status)) return undefined;
    const wait = writes.when();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const result = await patchStatus<EdgeNodeStatus>(
      ctx.customObjects,
      { ...TARGET, name },
      (current) => statusNow(current.status),
      {
        current: (ctx.nodes.get(undefined, name) ?? node) as WithStatus<EdgeNodeStatus>,
        fieldManager: 'wasmfleet-operator',
      },
    );
    const status = result.object.status;
    if (result.written && node.status?.phase !== status?.phase && status?.phase !== undefined) {
      const online = status.conditions?.find((c) => c.type === 'Online');
      ctx.recordEvent({
        regarding: { apiVersion: API_VERSION, kind: EDGE_NODE_KIND, name, uid: node.metadata.uid },
        type: status.phase === 'Online' ? 'Normal' : 'Warning',
        reason: status.phase === 'Online' ? 'DeviceOnline' : 'DeviceOffline',
        action: 'Heartbeat',
        note: online?.message ?? status.phase,
      });
    }
    return undefined;
  };
}

/** Creates the EdgeNode of a device that announced itself, or says why not. */
async function register(ctx: FleetContext, name: string, hooks: NodeReconcilerHooks): Promise<void> {
  if (!ctx.settings.autoRegister) {
    hooks.unknownDevice?.(name);
    ctx.recordEvent({
      regarding: { apiVersion: API_VERSION, kind: EDGE_NODE_KIND, name },
      type: 'Warning',
      reason: 'UnknownDevice',
      action: 'Register',
      note: `device ${name} connected but has no EdgeNode and auto-registration is off; create the EdgeNode to admit it`,
    });
    return;
  }
  try {
    await ctx.customObjects.createClusterCustomObject({
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
    });
  } catch (error) {
    if (!isAlreadyExists(error)) throw error;
  }
}
