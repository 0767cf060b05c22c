// SPDX-License-Identifier: Apache-2.0
// Prometheus metrics for the operator (prom-client). Names follow controller-runtime's
// (controller_runtime_reconcile_total, workqueue_depth, …) under a wasmfleet_ prefix. Each
// operator instance gets its own Registry, never prom-client's global one, so tests and
// in-process replicas do not collide on "metric already registered".
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { liveHeapBytes } from '@wasmfleet/api';
import type { QueueHooks } from './queue.ts';
import type { ReconcileHooks } from './reconcile.ts';

export interface OperatorMetricsOptions {
  /** Also export process/Node.js metrics (CPU, heap, event-loop lag). */
  readonly processMetrics?: boolean;
  readonly registry?: Registry;
}

/** Every metric's name, help and labels (controller-runtime's names under a wasmfleet_ prefix). */
const METRICS = {
  writesRefused: {
    name: 'wasmfleet_leader_writes_refused_total',
    help: 'Writes (API server or broker) refused because this replica may no longer hold the Lease.',
  },
  reconcileTotal: {
    name: 'wasmfleet_reconcile_total',
    help: 'Reconciles by controller and result (success, requeue_after, error, terminal).',
    labelNames: ['controller', 'result'],
  },
  reconcileErrors: {
    name: 'wasmfleet_reconcile_errors_total',
    help: 'Reconciles that threw, by controller (terminal errors included).',
    labelNames: ['controller'],
  },
  reconcileSeconds: {
    name: 'wasmfleet_reconcile_duration_seconds',
    help: 'Time per reconcile, by controller.',
    labelNames: ['controller'],
    // controller-runtime's buckets span 5 ms to 60 s; ours start lower because most
    // reconciles are cache reads plus at most one write.
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  },
  queueDepth: {
    name: 'wasmfleet_workqueue_depth',
    help: 'Keys waiting in the work queue (not counting delayed or in-flight ones).',
    labelNames: ['name'],
  },
  queueAdds: {
    name: 'wasmfleet_workqueue_adds_total',
    help: 'Keys added to the work queue (before de-duplication).',
    labelNames: ['name'],
  },
  queueRetries: {
    name: 'wasmfleet_workqueue_retries_total',
    help: 'Rate-limited requeues after failed reconciles.',
    labelNames: ['name'],
  },
  isLeader: { name: 'wasmfleet_leader_is_leader', help: '1 while this replica holds the leader Lease.' },
  devicesOnline: { name: 'wasmfleet_devices_online', help: 'EdgeNodes currently online.' },
  functionsByPhase: { name: 'wasmfleet_functions', help: 'WasmFunctions by phase.', labelNames: ['phase'] },
  unknownDevices: {
    name: 'wasmfleet_unknown_devices_total',
    help: 'Device announcements ignored because auto-registration is off and no EdgeNode exists.',
  },
  desiredResends: {
    name: 'wasmfleet_desired_resends_total',
    help: 'Desired documents sent again because their device stayed online without confirming them.',
  },
} as const;

/** Node.js process metrics, and the live heap after the latest major GC. */
function registerProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry, prefix: 'wasmfleet_' });
  liveHeapBytes(); // start observing collections now, so the first scrape has a figure
  new Gauge({
    name: 'wasmfleet_nodejs_heap_live_bytes',
    help: 'V8 heap in use right after the latest major GC (what is still alive; a leak raises it).',
    registers: [registry],
    collect() {
      const live = liveHeapBytes();
      if (live !== undefined) this.set(live);
    },
  });
}

export class OperatorMetrics {
  readonly registry: Registry;
  readonly reconcileTotal: Counter<'controller' | 'result'>;
  readonly reconcileErrors: Counter<'controller'>;
  readonly reconcileSeconds: Histogram<'controller'>;
  readonly queueDepth: Gauge<'name'>;
  readonly queueAdds: Counter<'name'>;
  readonly queueRetries: Counter<'name'>;
  readonly isLeader: Gauge;
  /** For the device registry to set: EdgeNodes currently online. */
  readonly devicesOnline: Gauge;
  /** For the function controller to set: WasmFunctions per phase. */
  readonly functionsByPhase: Gauge<'phase'>;
  /** For the device registry: devices that announced themselves but have no EdgeNode. */
  readonly unknownDevices: Counter;
  /** For the device link: desired documents sent again to a device that did not confirm them. */
  readonly desiredResends: Counter;
  /** Writes the fence refused: this replica's Lease was not renewed in time (kube/fence.ts). */
  readonly writesRefused: Counter;

  constructor(options: OperatorMetricsOptions = {}) {
    const registry = options.registry ?? new Registry();
    this.registry = registry;
    const registers = [registry];
    this.writesRefused = new Counter({ ...METRICS.writesRefused, registers });
    this.reconcileTotal = new Counter({ ...METRICS.reconcileTotal, registers });
    this.reconcileErrors = new Counter({ ...METRICS.reconcileErrors, registers });
    const { buckets } = METRICS.reconcileSeconds;
    this.reconcileSeconds = new Histogram({ ...METRICS.reconcileSeconds, buckets: [...buckets], registers });
    this.queueDepth = new Gauge({ ...METRICS.queueDepth, registers });
    this.queueAdds = new Counter({ ...METRICS.queueAdds, registers });
    this.queueRetries = new Counter({ ...METRICS.queueRetries, registers });
    this.isLeader = new Gauge({ ...METRICS.isLeader, registers });
    this.devicesOnline = new Gauge({ ...METRICS.devicesOnline, registers });
    this.functionsByPhase = new Gauge({ ...METRICS.functionsByPhase, registers });
    this.unknownDevices = new Counter({ ...METRICS.unknownDevices, registers });
    this.desiredResends = new Counter({ ...METRICS.desiredResends, registers });
    if (options.processMetrics) registerProcessMetrics(registry);
  }

  queueHooks(): QueueHooks {
    return {
      depth: (name, depth) => this.queueDepth.set({ name }, depth),
      added: (name) => this.queueAdds.inc({ name }),
      retried: (name) => this.queueRetries.inc({ name }),
    };
  }

  reconcileHooks(): ReconcileHooks {
    return {
      reconciled: (controller, result, seconds) => {
        this.reconcileTotal.inc({ controller, result });
        this.reconcileSeconds.observe({ controller }, seconds);
        if (result === 'error' || result === 'terminal') this.reconcileErrors.inc({ controller });
      },
    };
  }

  /** The Prometheus text exposition. */
  async text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
