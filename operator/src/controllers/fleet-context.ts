// SPDX-License-Identifier: Apache-2.0
// What the controllers share: caches, the device link, the documents and placement books, the
// latest device reports. One object so the wiring (operator.ts) and the tests build it once.
import type { CustomObjectsApi, V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import type {
  EdgeNode,
  EventReason,
  FunctionStatusReport,
  NodeStatus,
  WasmFunction,
  WasmFunctionStatus,
} from '@wasmfleet/api';
import type { RevisionStore } from './revision-history.ts';
import type { FleetBridge } from '../bridge/fleet-bridge.ts';
import type { NodeDocuments } from '../fleet/node-documents.ts';
import type { PlacementBook } from '../fleet/placement-book.ts';
import type { EventInput, Informer, WorkQueue } from '../kube/index.ts';
import type { Cache } from './typed-cache.ts';
import type { ResolveResult } from '../modules/index.ts';
import type { DeviceIdentities } from '../identity/device-identities.ts';
import type { DeliveryWatch } from '../fleet/delivery-watch.ts';
import type { Liveness } from '../fleet/liveness.ts';
import { isOnline } from './node-status.ts';

export interface FleetSettings {
  /** Remove the finalizer after this long even if devices never confirmed (broker down). */
  readonly finalizerTimeoutMs: number;
  /** Publishing to the broker gives up after this long (the broker may be down). */
  readonly publishTimeoutMs: number;
  /** Per-device rows kept in a function's status. */
  readonly maxNodeStatuses: number;
  /** Create EdgeNodes for devices that announce themselves. */
  readonly autoRegister: boolean;
  /** Labels put on auto-registered EdgeNodes. */
  readonly registrationLabels: Readonly<Record<string, string>>;
  /** Missed heartbeats before a device counts as offline. */
  readonly missedHeartbeats: number;
  /** EdgeNode writes (creates and status) per second across all devices, and the burst (ADR 0023, 0038). */
  readonly nodeStatusQps: number;
  readonly nodeStatusBurst: number;
  /**
   * A WasmFunction's status is rewritten at most this often when only counts and messages moved;
   * a change of phase, condition or rollout progress is written at once (ADR 0023).
   */
  readonly functionStatusIntervalMs: number;
  /** How often the liveness sweep looks for devices whose heartbeats are overdue. */
  readonly livenessSweepMs: number;
  /**
   * A device online this long without confirming its desired document gets it again, the wait
   * doubling per attempt up to 5 minutes (fleet/delivery-watch.ts).
   */
  readonly desiredResendMs: number;
}

export const DEFAULT_SETTINGS: FleetSettings = {
  finalizerTimeoutMs: 30_000,
  publishTimeoutMs: 5_000,
  maxNodeStatuses: 50,
  autoRegister: true,
  registrationLabels: {},
  missedHeartbeats: 3,
  nodeStatusQps: 100,
  nodeStatusBurst: 1_000,
  functionStatusIntervalMs: 1_000,
  livenessSweepMs: 2_000,
  desiredResendMs: 10_000,
};

/** EdgeNodes of one fleet (one broker) carry this label when an operator is scoped to a fleet. */
export const FLEET_LABEL = 'wasmfleet.io/fleet';

/** An Event the operator records: one of the reasons in api/src/resources/event-reasons.ts. */
export type FleetEvent = EventInput & { readonly reason: EventReason };

export interface FleetContext {
  readonly settings: FleetSettings;
  readonly customObjects: CustomObjectsApi;
  readonly functions: Cache<WasmFunction>;
  readonly nodes: Cache<EdgeNode>;
  readonly configMaps: Informer<V1ConfigMap>;
  readonly secrets: Informer<V1Secret>;
  readonly bridge: FleetBridge;
  /** Per-device MQTT identities and ACLs (dynamic security), when the operator manages them. */
  readonly identities?: DeviceIdentities;
  readonly documents: NodeDocuments;
  readonly placement: PlacementBook;
  /** node → its latest status document. */
  readonly reports: Map<string, NodeStatus>;
  /** Devices whose heartbeats stopped without a last will. */
  readonly liveness: Liveness;
  /** Desired documents their devices have not confirmed yet (sent again after a grace). */
  readonly delivery: DeliveryWatch;
  /** Module digests known to be on the broker as retained blobs. */
  readonly publishedModules: Set<string>;
  /** Digests not to collect even when no document references them yet. */
  readonly pinnedModules: Set<string>;
  /** Function key → the status this process wrote last (newer than the cache until its watch event). */
  readonly lastStatus: Map<
    string,
    {
      resourceVersion: number;
      generation: number | undefined;
      status: WasmFunctionStatus;
      /** When this process wrote it (ms), for the status throttle. */
      writtenAt: number;
    }
  >;
  readonly revisions: RevisionStore;
  readonly functionQueue: WorkQueue;
  readonly nodeQueue: WorkQueue;
  readonly resolveModule: (fn: WasmFunction) => Promise<ResolveResult>;
  /** Only the reasons api/ lists (`EventReason`), so tools can match on them. */
  readonly recordEvent: (event: FleetEvent) => void;
  readonly now: () => number;
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} did not finish within ${ms} ms (is the MQTT broker reachable?)`)),
      ms,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Whether a device is online now: by its latest report (a last will, or heartbeats overdue), or by
 * its EdgeNode before any report arrived (an operator that just started).
 */
export function deviceOnline(ctx: FleetContext, node: string): boolean {
  const report = ctx.reports.get(node);
  if (report) return isOnline(report, ctx.now(), ctx.settings.missedHeartbeats);
  return ctx.nodes.get(undefined, node)?.status?.phase === 'Online';
}

/** A function by namespace and name, split once from its `namespace/name` key. */
export interface FunctionId {
  readonly namespace: string;
  readonly name: string;
}

export function functionIdOf(key: string): FunctionId {
  const slash = key.indexOf('/');
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

/**
 * What a device reports of one function. A reconcile asks this of every target device, so it
 * compares names instead of building a `namespace/name` string per report (ADR 0045).
 */
export function reportOf(status: NodeStatus | undefined, id: FunctionId): FunctionStatusReport | undefined {
  return status?.functions?.find((f) => f.name === id.name && f.namespace === id.namespace);
}
