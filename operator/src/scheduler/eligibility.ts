// SPDX-License-Identifier: Apache-2.0
// Whether a function may stay on, or newly go to, a node. Two different bars on purpose:
// cordon and NoSchedule taints only block new placements (Kubernetes semantics), and an offline
// node keeps Every assignments for edge autonomy while Replicas leave after a grace period.
import type { PreparedFunction, PreparedNode } from './prepared.ts';
import { untoleratedTaint } from './taints.ts';
import type { Taint } from './types.ts';

export type Verdict =
  | { readonly ok: true }
  | { readonly ok: false; readonly why: 'selector' | 'sensors' | 'cordoned' | 'offline' }
  | { readonly ok: false; readonly why: 'taint'; readonly taint: Taint }
  | { readonly ok: false; readonly why: 'offlineExpired'; readonly offlineForMs: number };

const OK: Verdict = { ok: true };

/** Selector and sensors: the node is one the function is meant for at all. */
export function targets(pf: PreparedFunction, pn: PreparedNode): Verdict {
  if (!pf.matches(pn.node.labels)) return { ok: false, why: 'selector' };
  for (const sensor of pf.fn.sensors) if (!pn.sensors.has(sensor)) return { ok: false, why: 'sensors' };
  return OK;
}

/** May an existing assignment stay? */
export function mayStay(pf: PreparedFunction, pn: PreparedNode, now: number, graceMs: number): Verdict {
  const target = targets(pf, pn);
  if (!target.ok) return target;
  const taint = untoleratedTaint(pf.fn.tolerations, pn.node.taints, 'NoExecute');
  if (taint !== undefined) return { ok: false, why: 'taint', taint };
  if (pf.fn.mode === 'Replicas' && !pn.node.online) {
    const offlineForMs = pn.node.offlineSince === undefined ? Infinity : now - pn.node.offlineSince;
    if (offlineForMs >= graceMs) return { ok: false, why: 'offlineExpired', offlineForMs };
  }
  return OK;
}

/** May a new assignment go there (capacity aside)? */
export function mayPlace(pf: PreparedFunction, pn: PreparedNode): Verdict {
  const target = targets(pf, pn);
  if (!target.ok) return target;
  if (pn.node.unschedulable) return { ok: false, why: 'cordoned' };
  const taint = untoleratedTaint(pf.fn.tolerations, pn.node.taints, 'any');
  if (taint !== undefined) return { ok: false, why: 'taint', taint };
  // Every may be placed on an offline node: desired state is retained, the device picks it up on
  // reconnect (like a DaemonSet on a NotReady node). Replicas want a device that runs them now.
  if (pf.fn.mode === 'Replicas' && !pn.node.online) return { ok: false, why: 'offline' };
  return OK;
}
