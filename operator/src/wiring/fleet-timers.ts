// SPDX-License-Identifier: Apache-2.0
// The operator's two timers: the liveness sweep (devices whose heartbeats stopped without a last
// will) and the fleet gauges read from the caches.
import type { FleetContext } from '../controllers/fleet-context.ts';
import type { OperatorMetrics } from '../kube/index.ts';
import { clearOnStop, type Cleanups } from './cleanups.ts';

/** Gauges are cheap enough to read from the caches this often, even for 10k devices. */
const GAUGES_MS = 2_000;

export function startFleetTimers(ctx: FleetContext, metrics: OperatorMetrics, cleanups: Cleanups): void {
  // Devices whose heartbeats stopped without a last will: one pass over the reports, not a timer
  // per device.
  const sweep = setInterval(() => {
    for (const node of ctx.liveness.sweep(ctx.reports, Date.now())) {
      ctx.nodeQueue.add(node);
      for (const key of ctx.documents.assignmentsOfNode(node)) ctx.functionQueue.add(key);
    }
  }, ctx.settings.livenessSweepMs);
  sweep.unref();
  clearOnStop(cleanups, sweep);
  const gauges = setInterval(() => updateGauges(ctx, metrics), GAUGES_MS);
  gauges.unref();
  clearOnStop(cleanups, gauges);
}

/** Fleet gauges, from the caches. */
function updateGauges(ctx: FleetContext, metrics: OperatorMetrics): void {
  metrics.devicesOnline.set(ctx.nodes.list().filter((n) => n.status?.phase === 'Online').length);
  const byPhase = new Map<string, number>();
  for (const fn of ctx.functions.list())
    byPhase.set(fn.status?.phase ?? 'Pending', (byPhase.get(fn.status?.phase ?? 'Pending') ?? 0) + 1);
  metrics.functionsByPhase.reset();
  for (const [phase, n] of byPhase) metrics.functionsByPhase.set({ phase }, n);
}
