// SPDX-License-Identifier: Apache-2.0
// Reconciles one WasmFunction: finalizer, module, config, placement, per-device documents and
// status. Level-triggered: it recomputes everything from the caches each time and writes only
// what differs, so running it twice — or after an operator restart — does no duplicate work.
import {
  functionCondition,
  functionKey,
  GROUP,
  VERSION,
  WASM_FUNCTION_PLURAL,
  type DesiredFunction,
  type DesiredState,
  type WasmFunction,
  type WasmFunctionStatus,
} from '@wasmfleet/api';
import { MAX_IN_FLIGHT } from '../bridge/fleet-bridge.ts';
import { eachBounded } from '../bridge/in-flight.ts';
import { desiredFunction } from '../fleet/desired-function.ts';
import { unpaced } from '../fleet/reconcile-pacing.ts';
import { forAgent } from '../fleet/signature-support.ts';
import { aggregateFunctionStatus } from '../fleet/status-aggregate.ts';
import { schedulableFunction } from '../fleet/scheduling-view.ts';
import {
  namespacedKey,
  patchStatus,
  splitKey,
  TerminalError,
  type ReconcileRequest,
  type ReconcileResult,
  type EventRegarding,
  type WithStatus,
} from '../kube/index.ts';
import { resolveConfig } from './config-values.ts';
import { ANNOTATION, deviceViews, planRollout } from './rollout-plan.ts';
import { addFinalizer, hasFinalizer, removeFinalizer } from './finalizer.ts';
import { functionIdOf, reportOf, withTimeout, type FleetContext } from './fleet-context.ts';
import { functionStatus, significantChange, type StatusParts } from './function-status.ts';
import type { ResolveResult } from '../modules/index.ts';

const TARGET = { group: GROUP, version: VERSION, plural: WASM_FUNCTION_PLURAL };

export function functionReconciler(ctx: FleetContext) {
  return async (request: ReconcileRequest): Promise<ReconcileResult | undefined> => {
    const fn = ctx.functions.getByKey(request.key);
    if (!fn) {
      // Deleted without our finalizer (or we never saw it): make sure devices stop it.
      ctx.placement.apply({ removeFunctions: [request.key], now: ctx.now() });
      await publishDocuments(ctx, ctx.documents.remove(request.key));
      ctx.revisions.forget(request.key);
      ctx.lastStatus.delete(request.key);
      return undefined;
    }
    if (fn.metadata.deletionTimestamp) return finalize(ctx, request.key, fn);
    if (!hasFinalizer(fn)) {
      await addFinalizer(ctx.customObjects, fn);
      return undefined; // the update event brings us back with the new resourceVersion
    }
    return reconcileLive(ctx, request.key, fn);
  };
}

type MutableParts = { -readonly [K in keyof StatusParts]: StatusParts[K] };
type Resolved = Extract<ResolveResult, { ok: true }>;
type Desired = ReturnType<typeof desiredFunction>;
type Plan = ReturnType<typeof planRollout>;

/** A live function, as named steps: place, resolve, configure, publish, plan, deliver. */
async function reconcileLive(
  ctx: FleetContext,
  key: string,
  fn: WasmFunction,
): Promise<ReconcileResult | undefined> {
  const namespace = splitKey(key).namespace ?? 'default';
  const parts: MutableParts = { fn, now: new Date(ctx.now()) };
  const targets = schedule(ctx, key, fn, parts);
  const resolved = await resolveOrStop(ctx, fn, parts);
  const config = resolveConfig(namespace, fn.spec, {
    configMap: (ns, name) => ctx.configMaps.get(ns, name),
    secret: (ns, name) => ctx.secrets.get(ns, name),
  });
  if (!config.ok) {
    parts.config = config;
    await writeStatus(ctx, fn, parts);
    // No requeue: the ConfigMap/Secret watch brings this function back when the object appears.
    return undefined;
  }
  parts.config = { ok: true };
  await ensureModulePublished(ctx, key, targets, resolved.module);

  // `rollout restart` salts the revision: same content, new revision, so devices restart it.
  const restartedAt = fn.metadata.annotations?.[ANNOTATION.restartedAt];
  const desired = desiredFunction({
    namespace,
    name: fn.metadata.name ?? '',
    spec: fn.spec,
    module: { sha256: resolved.module.sha256, size: resolved.module.size, signatures: resolved.signatures },
    config: config.config,
    ...(restartedAt ? { salt: restartedAt } : {}),
  });
  parts.updateRevision = desired.revision;
  const { live, plan } = await planStep(ctx, key, fn, desired, targets, parts);
  return deliver(ctx, { key, fn, live, plan, parts, sha256: resolved.module.sha256 });
}

/** Placement does not depend on the module: schedule first so status can say where it goes. */
function schedule(ctx: FleetContext, key: string, fn: WasmFunction, parts: MutableParts): readonly string[] {
  const changed = ctx.placement.apply({ upsertFunctions: [schedulableFunction(fn)], now: ctx.now() });
  for (const other of changed) if (other !== key) ctx.functionQueue.add(other);
  const placement = ctx.placement.placement(key);
  const targets = placement?.nodes ?? [];
  parts.scheduled = { nodes: targets.length, desired: placement?.desired ?? 0, reason: placement?.reason };
  return targets;
}

/** The module, or the reconcile ends here with ModuleResolved=False written. */
async function resolveOrStop(ctx: FleetContext, fn: WasmFunction, parts: MutableParts): Promise<Resolved> {
  const resolved = await ctx.resolveModule(fn);
  if (!resolved.ok) {
    parts.module = { ok: false, reason: resolved.failure.reason, message: resolved.failure.message };
    // Devices keep the last good revision: a registry outage must not stop a running fleet.
    await writeStatus(ctx, fn, parts);
    if (resolved.failure.retryable) throw new Error(`module: ${resolved.failure.message}`);
    throw new TerminalError(`module: ${resolved.failure.reason}: ${resolved.failure.message}`);
  }
  parts.module = { ok: true, sha256: resolved.module.sha256, size: resolved.module.size };
  return resolved;
}

/** The module's bytes on the broker as a retained blob, before any document names them. */
async function ensureModulePublished(
  ctx: FleetContext,
  key: string,
  targets: readonly string[],
  module: Resolved['module'],
): Promise<void> {
  // A device that reports it could not fetch this module (the broker lost its retained blob,
  // e.g. it restarted without persistence) gets it published again.
  const id = functionIdOf(key);
  const fetchFailed = targets.some((node) => reportOf(ctx.reports.get(node), id)?.reason === 'FetchFailed');
  // Pinned until a document references it, so a concurrent collection cannot clear it first.
  ctx.pinnedModules.add(module.sha256);
  if (!ctx.publishedModules.has(module.sha256) || fetchFailed) {
    await withTimeout(
      ctx.bridge.publishModule(module.sha256, module.bytes),
      ctx.settings.publishTimeoutMs,
      `publishing module ${module.sha256}`,
    );
    ctx.publishedModules.add(module.sha256);
  }
}

/** Where the rollout goes next, with the failure explanation kept while the same revision stays failed. */
async function planStep(
  ctx: FleetContext,
  key: string,
  fn: WasmFunction,
  desired: Desired,
  targets: readonly string[],
  parts: MutableParts,
): Promise<{ live: WasmFunction; plan: Plan }> {
  // The informer cache may not have our last status write yet; the rollout must never step
  // back because of that, so prefer what we wrote last when it is newer.
  const live = withNewestStatus(ctx, key, fn);
  const currentRevision = live.status?.currentRevision;
  await ctx.revisions.ensure(live, desired, new Set(currentRevision ? [currentRevision] : []));
  const current =
    currentRevision && currentRevision !== desired.revision
      ? await ctx.revisions.get(live, currentRevision)
      : undefined;
  const devices = deviceViews(ctx, key, targets);
  const plan = planRollout(ctx, live, key, desired, current, devices);
  // The decision explains a failure only on the transition; keep that explanation (and the
  // deadline reason) in status for as long as the same revision stays rolled back.
  const previousRollout = live.status?.rollout;
  const sameFailure =
    plan.rollout.failedRevision !== undefined &&
    previousRollout?.failedRevision === plan.rollout.failedRevision;
  const previousReason = functionCondition(live.status, 'Progressing')?.reason;
  const deadline =
    plan.decision.events.some((e) => e.reason === 'ProgressDeadlineExceeded') ||
    (sameFailure && previousReason === 'ProgressDeadlineExceeded');
  if (sameFailure && previousRollout.message && plan.rollout.phase === previousRollout.phase) {
    plan.rollout.message = previousRollout.message;
  }
  parts.rollout = {
    status: plan.rollout,
    complete: plan.decision.complete,
    currentRevision:
      current?.revision ?? (currentRevision === desired.revision ? desired.revision : undefined),
    failureReason: deadline
      ? 'ProgressDeadlineExceeded'
      : plan.rollout.phase === 'RolledBack'
        ? 'RolledBack'
        : undefined,
  };
  parts.aggregate = aggregateFunctionStatus({
    updateRevision: desired.revision,
    targets,
    nodes: new Map(devices.map((d) => [d.name, d])),
    maxListed: ctx.settings.maxNodeStatuses,
  });
  parts.fn = live;
  return { live, plan };
}

/** Status first, then Events and documents; when to look again. */
async function deliver(
  ctx: FleetContext,
  step: {
    readonly key: string;
    readonly fn: WasmFunction;
    readonly live: WasmFunction;
    readonly plan: Plan;
    readonly parts: StatusParts;
    readonly sha256: string;
  },
): Promise<ReconcileResult | undefined> {
  const { key, fn, live, plan, parts } = step;
  // Status first, documents second: a crash in between resumes from the persisted step and
  // publishes the same documents once — a step never runs twice. (A write deferred by the
  // throttle changed no rollout progress, only counts and messages.)
  const deferredMs = await writeStatus(ctx, live, parts, { throttle: true });
  for (const event of plan.decision.events) {
    ctx.recordEvent({
      regarding: regardingFunction(fn),
      type: event.type,
      reason: event.reason,
      action: 'Rollout',
      note: event.message.slice(0, 1000),
    });
  }
  // A loop, not an array of pairs: this runs over every target device on every reconcile.
  const perNode = new Map<string, DesiredFunction>();
  for (const [node, fn] of plan.perNode) perNode.set(node, forAgent(fn, ctx.reports.get(node)?.agentVersion));
  const touched = ctx.documents.assign(key, perNode);
  ctx.pinnedModules.delete(step.sha256);
  await publishDocuments(ctx, touched);

  const wakes = [
    ctx.placement.nextWakeAt,
    plan.decision.wakeAt,
    deferredMs === undefined ? undefined : ctx.now() + deferredMs,
    errorRateWatch(plan.decision.phase, fn, ctx.now()),
  ].filter((w): w is number => w !== undefined);
  return wakes.length > 0 ? { requeueAfter: Math.max(100, Math.min(...wakes) - ctx.now()) } : undefined;
}

/**
 * Call counters arrive with heartbeats, which wake no reconcile (ADR 0023): a rollout gated on
 * maxErrorRate looks at them again every few seconds while it progresses.
 */
const ERROR_RATE_WATCH_MS = 5_000;
function errorRateWatch(phase: string, fn: WasmFunction, now: number): number | undefined {
  return phase === 'Progressing' && fn.spec.rollout?.maxErrorRate !== undefined
    ? now + ERROR_RATE_WATCH_MS
    : undefined;
}

function withNewestStatus(ctx: FleetContext, key: string, fn: WasmFunction): WasmFunction {
  const memo = ctx.lastStatus.get(key);
  if (!memo) return fn;
  // resourceVersions are etcd revisions in practice; a cached copy older than our own write
  // would make the rollout step back.
  const cached = Number(fn.metadata.resourceVersion ?? 0);
  return memo.resourceVersion > cached && memo.generation === fn.metadata.generation
    ? { ...fn, status: memo.status }
    : fn;
}

async function finalize(
  ctx: FleetContext,
  key: string,
  fn: WasmFunction,
): Promise<ReconcileResult | undefined> {
  if (!hasFinalizer(fn)) return undefined;
  const previouslyOn = [...ctx.documents.assignmentsOf(key).keys()];
  ctx.placement.apply({ removeFunctions: [key], now: ctx.now() });
  const deletedAt = Date.parse(fn.metadata.deletionTimestamp ?? '') || ctx.now();
  const overdue = ctx.now() - deletedAt > ctx.settings.finalizerTimeoutMs;
  let published = true;
  try {
    await publishDocuments(ctx, ctx.documents.remove(key));
  } catch (error) {
    published = false;
    if (!overdue) {
      await writeStatus(ctx, fn, {
        fn,
        now: new Date(ctx.now()),
        terminating: {
          message: `cannot tell devices to stop: ${(error as Error).message}; the finalizer is removed anyway after ${ctx.settings.finalizerTimeoutMs / 1000}s`,
        },
      });
      throw error;
    }
  }
  const pending = published
    ? previouslyOn.filter((node) => {
        const report = ctx.reports.get(node);
        return report?.state === 'online' && (report.functions ?? []).some((f) => functionKey(f) === key);
      })
    : previouslyOn;
  if (pending.length > 0 && !overdue) {
    await writeStatus(ctx, fn, {
      fn,
      now: new Date(ctx.now()),
      terminating: {
        message: `waiting for ${pending.length} device(s) to stop it: ${pending.slice(0, 5).join(', ')}`,
      },
    });
    return { requeueAfter: 1000 };
  }
  if (pending.length > 0) {
    ctx.recordEvent({
      regarding: regardingFunction(fn),
      type: 'Warning',
      reason: 'CleanupTimedOut',
      action: 'Finalize',
      note: `${pending.length} device(s) did not confirm stopping it within ${ctx.settings.finalizerTimeoutMs / 1000}s (${pending.slice(0, 5).join(', ')}); they will stop when they next read their desired state`,
    });
  }
  await removeFinalizer(ctx.customObjects, fn);
  return undefined;
}

export async function publishDocuments(ctx: FleetContext, nodes: Iterable<string>): Promise<void> {
  const docs = ctx.documents.changedDocuments(nodes);
  // No more at once than the bridge sends at once: each timeout then measures a publish, not its
  // wait for a slot (eachBounded).
  const acknowledged = new Set<DesiredState>();
  try {
    // Seconds of PUBACKs for a fleet, not seconds of the thread (reconcile-pacing.ts).
    await unpaced(() =>
      eachBounded(docs, MAX_IN_FLIGHT, async (doc) => {
        // The device may use what the document asks for before it reads it.
        await ctx.identities?.beforePublish(doc, ctx.documents.publishedFor(doc.node));
        ctx.documents.publishing(doc);
        await withTimeout(
          ctx.bridge.publishDesired(doc),
          ctx.settings.publishTimeoutMs,
          `publishing the desired state of ${doc.node}`,
        );
        ctx.documents.recordPublished(doc);
        acknowledged.add(doc);
        ctx.delivery.sent(doc, ctx.reports.get(doc.node), ctx.now());
      }),
    );
  } catch (error) {
    // The failed one and those not started after it: the reconcile's retry publishes them again.
    for (const doc of docs) if (!acknowledged.has(doc)) ctx.documents.publishFailed(doc);
    throw error;
  }
  if (docs.length > 0) await collectModules(ctx);
}

/**
 * Clears retained module blobs that no device document references any more — only after the
 * documents that stopped referencing them are published, so no device reads a document whose
 * module is already gone.
 */
async function collectModules(ctx: FleetContext): Promise<void> {
  const referenced = ctx.documents.referencedDigests();
  for (const digest of [...ctx.publishedModules]) {
    if (referenced.has(digest) || ctx.pinnedModules.has(digest)) continue;
    ctx.publishedModules.delete(digest);
    await withTimeout(
      ctx.bridge.clearModule(digest),
      ctx.settings.publishTimeoutMs,
      `clearing module ${digest}`,
    );
  }
}

/**
 * Writes the function's status. With `throttle`, a change of counts and messages only is written
 * at most once per functionStatusIntervalMs (ADR 0023); the return value is then how long until it
 * may be, and the caller reconciles again by then.
 */
async function writeStatus(
  ctx: FleetContext,
  fn: WasmFunction,
  parts: StatusParts,
  options: { readonly throttle?: boolean } = {},
): Promise<number | undefined> {
  const key = namespacedKey(fn);
  const sinceWrite = ctx.now() - (ctx.lastStatus.get(key)?.writtenAt ?? 0);
  const wait = ctx.settings.functionStatusIntervalMs - sinceWrite;
  // Set by the mutation, which may run more than once (conflicts).
  const throttled = { deferred: false };
  const result = await patchStatus<WasmFunctionStatus>(
    ctx.customObjects,
    { ...TARGET, namespace: fn.metadata.namespace ?? 'default', name: fn.metadata.name ?? '' },
    (current) => {
      const next = functionStatus({
        ...parts,
        fn: {
          ...fn,
          status: current.status,
          metadata: { ...fn.metadata, generation: current.metadata?.generation ?? fn.metadata.generation },
        },
      });
      throttled.deferred = options.throttle === true && wait > 0 && !significantChange(current.status, next);
      return throttled.deferred ? undefined : next;
    },
    { current: fn as WithStatus<WasmFunctionStatus>, fieldManager: 'wasmfleet-operator' },
  );
  if (result.written && result.object.status) {
    ctx.lastStatus.set(key, {
      resourceVersion: Number(result.object.metadata?.resourceVersion ?? 0),
      generation: fn.metadata.generation,
      status: result.object.status,
      writtenAt: ctx.now(),
    });
  }
  const before = fn.status?.phase;
  const after = result.object.status?.phase;
  if (result.written && after !== undefined && after !== before) {
    // One Event per phase transition: what `kubectl describe` and `wasmfleet describe` show.
    const ready = functionCondition(result.object.status, 'Ready');
    ctx.recordEvent({
      regarding: regardingFunction(fn),
      type: after === 'Failed' || after === 'Degraded' ? 'Warning' : 'Normal',
      reason: after,
      action: 'Reconcile',
      note: `${before ?? 'New'} → ${after}: ${ready?.message ?? ''}`.slice(0, 1000),
    });
  }
  return throttled.deferred ? Math.max(wait, 50) : undefined;
}

/** The `regarding` of an Event about a WasmFunction. */
function regardingFunction(fn: WasmFunction): EventRegarding {
  return {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'WasmFunction',
    name: fn.metadata.name ?? '',
    namespace: fn.metadata.namespace,
    uid: fn.metadata.uid,
  };
}
