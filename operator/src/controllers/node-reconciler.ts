// SPDX-License-Identifier: Apache-2.0
// Reconciles one device: creates its EdgeNode when it announces itself (auto-registration),
// mirrors its report into status, and marks it Offline after missed heartbeats or its last will.

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
  patchStatus,
  type ReconcileRequest,
  type ReconcileResult,
  type WithStatus,
} from '../kube/index.ts';
import type { FleetContext } from './fleet-context.ts';
import { edgeNodeStatus, onlyHeartbeatChanged } from './node-status.ts';

const TARGET = { group: GROUP, version: VERSION, plural: EDGE_NODE_PLURAL };
const AUTO_REGISTERED_LABEL = 'wasmfleet.io/auto-registered';

export interface NodeReconcilerHooks {
  /** A device announced itself but has no EdgeNode and auto-registration is off. */
  unknownDevice?(node: string): void;
}

export function nodeReconciler(ctx: FleetContext, hooks: NodeReconcilerHooks = {}) {
  const lastWrite = new Map<string, number>();
  return async ({ name }: ReconcileRequest): Promise<ReconcileResult | undefined> => {
    const report = ctx.reports.get(name);
    const node = ctx.nodes.get(undefined, name);
    if (!node) {
      if (!report || report.state !== 'online') return undefined;
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
      // The informer's add event brings the new object (with its resourceVersion) back here.
      return undefined;
    }
    await ctx.identities?.sync(name, ctx.documents.publishedFor(name), report);
    const now = ctx.now();
    const { status, staleAt } = edgeNodeStatus({
      report,
      previous: node.status,
      now,
      missedHeartbeats: ctx.settings.missedHeartbeats,
    });
    const requeue = staleAt !== undefined ? { requeueAfter: Math.max(100, staleAt - now + 50) } : undefined;
    const recent = now - (lastWrite.get(name) ?? 0) < ctx.settings.heartbeatWriteIntervalMs;
    if (recent && onlyHeartbeatChanged(node.status, status)) return requeue;
    const result = await patchStatus<EdgeNodeStatus>(ctx.customObjects, { ...TARGET, name }, () => status, {
      current: node as WithStatus<EdgeNodeStatus>,
      fieldManager: 'wasmfleet-operator',
    });
    if (result.written) lastWrite.set(name, now);
    if (result.written && node.status?.phase !== status.phase && status.phase !== undefined) {
      const ready = status.conditions?.find((c) => c.type === 'Ready');
      ctx.recordEvent({
        regarding: { apiVersion: API_VERSION, kind: EDGE_NODE_KIND, name, uid: node.metadata.uid },
        type: status.phase === 'Online' ? 'Normal' : 'Warning',
        reason: status.phase === 'Online' ? 'DeviceOnline' : 'DeviceOffline',
        action: 'Heartbeat',
        note: ready?.message ?? status.phase,
      });
    }
    return requeue;
  };
}
