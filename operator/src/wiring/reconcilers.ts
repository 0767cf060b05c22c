// SPDX-License-Identifier: Apache-2.0
// The two controllers' reconcile loops over their queues, with failed reconciles logged (a
// retry with backoff would otherwise only show as a metric).
import type { FleetContext } from '../controllers/fleet-context.ts';
import { functionReconciler } from '../controllers/function-reconciler.ts';
import { nodeReconciler } from '../controllers/node-reconciler.ts';
import { reconcileLoop, type OperatorMetrics, type RunningLoop } from '../kube/index.ts';
import type { Cleanups } from './cleanups.ts';

const DEFAULT_WORKERS = 4;

export function startReconcilers(
  ctx: FleetContext,
  metrics: OperatorMetrics,
  options: { readonly workers?: number | undefined; readonly log: (l: string) => void },
  cleanups: Cleanups,
): void {
  const { log } = options;
  const workers = options.workers ?? DEFAULT_WORKERS;
  // A failed reconcile is retried (with backoff); say why, or it only shows as a metric.
  const reconcileHooks = {
    ...metrics.reconcileHooks(),
    failed: (controller: string, key: string, error: unknown) => {
      // The error's class only when it is not a plain Error: a TypeError here is a bug, not a retry.
      const what =
        error instanceof Error
          ? `${error.name === 'Error' ? '' : `${error.name}: `}${error.message}`
          : String(error);
      log(`${controller} ${key}: reconcile failed: ${what}`);
    },
  };
  const loops: RunningLoop[] = [
    reconcileLoop(ctx.functionQueue, functionReconciler(ctx), {
      controller: 'wasmfunction',
      workers,
      hooks: reconcileHooks,
    }),
    reconcileLoop(ctx.nodeQueue, nodeReconciler(ctx, { unknownDevice: () => metrics.unknownDevices.inc() }), {
      controller: 'edgenode',
      workers,
      hooks: reconcileHooks,
    }),
  ];
  cleanups.push(async () => {
    await Promise.all([ctx.functionQueue.shutdown(), ctx.nodeQueue.shutdown()]);
    await Promise.all(loops.map((l) => l.stopped));
  });
}
