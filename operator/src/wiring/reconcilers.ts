// SPDX-License-Identifier: Apache-2.0
// The two controllers' reconcile loops over their queues; each loop logs a failed reconcile with
// its controller, object and reconcile ID (kube/reconcile.ts), since a retry with backoff would
// otherwise only show as a metric.
import type { Logger } from '@wasmfleet/api';
import type { FleetContext } from '../controllers/fleet-context.ts';
import { functionReconciler } from '../controllers/function-reconciler.ts';
import { nodeReconciler } from '../controllers/node-reconciler.ts';
import { reconcileLoop, type OperatorMetrics, type RunningLoop } from '../kube/index.ts';
import type { Cleanups } from './cleanups.ts';
import type { ReconcilePacing } from '../fleet/reconcile-pacing.ts';

const DEFAULT_WORKERS = 4;

export function startReconcilers(
  ctx: FleetContext,
  metrics: OperatorMetrics,
  options: { readonly workers?: number | undefined; readonly log: Logger; readonly pacing: ReconcilePacing },
  cleanups: Cleanups,
): void {
  const { log } = options;
  const workers = options.workers ?? DEFAULT_WORKERS;
  const reconcileHooks = metrics.reconcileHooks();
  const loops: RunningLoop[] = [
    reconcileLoop(ctx.functionQueue, options.pacing.timed(functionReconciler(ctx)), {
      controller: 'wasmfunction',
      workers,
      hooks: reconcileHooks,
      log,
    }),
    reconcileLoop(ctx.nodeQueue, nodeReconciler(ctx, { unknownDevice: () => metrics.unknownDevices.inc() }), {
      controller: 'edgenode',
      workers,
      hooks: reconcileHooks,
      log,
    }),
  ];
  cleanups.push(async () => {
    await Promise.all([ctx.functionQueue.shutdown(), ctx.nodeQueue.shutdown()]);
    await Promise.all(loops.map((l) => l.stopped));
  });
}
