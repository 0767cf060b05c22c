// SPDX-License-Identifier: Apache-2.0
// Starts the operator: leader election and the write fence, then its parts in order — informers,
// the MQTT fleet bridge, identities, placement, the shared context, the watch table, agent
// rollouts, timers and reconcile loops (each in wiring/). Everything here is plumbing; decisions
// live in fleet/ (pure) and controllers/.
import { hostname } from 'node:os';
import { CoordinationV1Api, CustomObjectsApi, EventsV1Api, type KubeConfig } from '@kubernetes/client-node';
import { brokerForLogs, createLogger, type EdgeNode, type Logger, type WasmFunction } from '@wasmfleet/api';
import type { FleetBridgeOptions } from './bridge/fleet-bridge.ts';
import {
  DEFAULT_SETTINGS,
  FLEET_LABEL,
  type FleetContext,
  type FleetSettings,
} from './controllers/fleet-context.ts';
import { RevisionStore } from './controllers/revision-history.ts';
import { typedCache, type Cache } from './controllers/typed-cache.ts';
import { PlacementBook } from './fleet/placement-book.ts';
import { schedulableFunction, schedulableNode } from './fleet/scheduling-view.ts';
import {
  EventRecorder,
  LeaderElector,
  namespacedKey,
  OperatorMetrics,
  FencedKubeConfig,
  startWatches,
  unfenced,
  WorkQueue,
  type WriteFence,
} from './kube/index.ts';
import { ModuleCache, resolveModule, type ClusterSignaturePolicy, type KubeReader } from './modules/index.ts';
import { PooledKubeConfig } from './kube/pooled-kubeconfig.ts';
import type { DeviceIdentities } from './identity/device-identities.ts';
import { mqttClientOptions } from './join/device-join-wiring.ts';
import { startAgentRollouts } from './agents/agent-rollouts.ts';
import type { SchedulerOptions } from './scheduler/index.ts';
import type { Cleanups } from './wiring/cleanups.ts';
import { connectDeviceLink, type DeviceLink } from './wiring/fleet-bridge-wiring.ts';
import { startDeviceIdentities, type IdentityOptions } from './wiring/device-identity-wiring.ts';
import { startInformers, type FleetInformers } from './wiring/fleet-informers.ts';
import { startFleetTimers } from './wiring/fleet-timers.ts';
import { fleetWatches, nodeChangeBatch, type FleetQueues } from './wiring/fleet-watches.ts';
import { startReconcilers } from './wiring/reconcilers.ts';
import { ReconcilePacing } from './fleet/reconcile-pacing.ts';

export interface OperatorOptions {
  readonly kubeConfig: KubeConfig;
  readonly broker: FleetBridgeOptions;
  readonly settings?: Partial<FleetSettings>;
  readonly scheduler?: Partial<SchedulerOptions>;
  /** Off for a single replica; otherwise the Lease's namespace and name. */
  readonly leaderElection?:
    | {
        readonly namespace: string;
        readonly name?: string;
        readonly identity?: string;
        readonly leaseDurationMs?: number;
        readonly renewDeadlineMs?: number;
        readonly retryPeriodMs?: number;
      }
    | false;
  readonly workers?: number;
  /** Where the operator logs (default: a `component=operator` logger on stderr, docs/adr/0035). */
  readonly logger?: Logger;
  /** Each log line as text instead, for an embedder that keeps lines itself (tests); logger wins. */
  readonly log?: (line: string) => void;
  /**
   * Limits what this operator manages: functions in one namespace, and EdgeNodes labelled
   * `wasmfleet.io/fleet=<fleet>` (auto-registered devices get that label). Several operators,
   * each with its own broker, can then share a cluster.
   */
  readonly scope?: { readonly namespace?: string; readonly fleet?: string };
  /** Registries reachable over plain HTTP (tests, local dev). */
  readonly plainHttpRegistries?: readonly string[];
  /** Cluster-wide signature policy; `module.verify.mode` overrides it per function (ADR 0011). */
  readonly moduleSignatures?: ClusterSignaturePolicy;
  /** Repeats of an Event within this window only bump its count (default 10 minutes). */
  readonly eventAggregationWindowMs?: number;
  /** Per-device MQTT identity (ADR 0012) and one-command join (ADR 0031). */
  readonly identity?: IdentityOptions;
}

export interface RunningOperator {
  readonly metrics: OperatorMetrics;
  readonly context: () => FleetContext | undefined;
  /** Resolves once caches are synced and this replica leads (or leadership is off). */
  readonly ready: Promise<void>;
  isReady(): boolean;
  isLeader(): boolean;
  /** Resolves when the operator stops on its own (lost leadership). */
  readonly stopped: Promise<string>;
  stop(): Promise<void>;
}

type LeaderElectionOptions = Exclude<OperatorOptions['leaderElection'], false | undefined>;

/**
 * Resolves once this replica leads (at once when leader election is off, or when the operator
 * is stopped first); the elector, when there is one, is what the write fence asks.
 */
function startLeading(
  kc: PooledKubeConfig,
  le: LeaderElectionOptions,
  identity: string,
  userAgent: string,
  hooks: {
    readonly metrics: OperatorMetrics;
    readonly log: Logger;
    readonly stopReason: (reason: string) => void;
    readonly signal: AbortSignal;
  },
): { elector: LeaderElector; leading: Promise<void> } {
  const { metrics, log, stopReason } = hooks;
  // The Lease itself is guarded by its resourceVersion, not by the fence.
  const leaseClient = new FencedKubeConfig(kc, { userAgent, fence: unfenced });
  let resolveLeading: () => void = () => undefined;
  const elector = new LeaderElector(leaseClient.makeApiClient(CoordinationV1Api), {
    namespace: le.namespace,
    name: le.name ?? 'wasmfleet-operator',
    identity,
    ...(le.leaseDurationMs ? { leaseDurationMs: le.leaseDurationMs } : {}),
    ...(le.renewDeadlineMs ? { renewDeadlineMs: le.renewDeadlineMs } : {}),
    ...(le.retryPeriodMs ? { retryPeriodMs: le.retryPeriodMs } : {}),
    onStartedLeading: () => {
      metrics.isLeader.set(1);
      log.info('became the leader');
      resolveLeading();
    },
    onStoppedLeading: (reason) => {
      metrics.isLeader.set(0);
      // Like controller-runtime: a replica that lost the Lease stops acting at once.
      log.warn(`leadership lost: ${reason}`);
      stopReason(`lost leadership: ${reason}`);
    },
    onError: (error) => log.error(`leader election: ${String(error)}`),
  });
  const leading = new Promise<void>((resolve, reject) => {
    resolveLeading = resolve;
    void elector.run().catch(reject);
    hooks.signal.addEventListener('abort', () => resolve());
  });
  return { elector, leading };
}

/**
 * Every write this replica makes goes through the fence (see kube/fence.ts): a leader that lost
 * its Lease without noticing yet writes nothing.
 */
function writeFence(leader: LeaderElector | undefined, metrics: OperatorMetrics, log: Logger): WriteFence {
  if (!leader) return unfenced;
  return {
    check: (what) => {
      try {
        leader.check(what);
      } catch (error) {
        metrics.writesRefused.inc();
        log.warn(`write refused: ${(error as Error).message}`);
        throw error;
      }
    },
  };
}

/** The logger options ask for: theirs, lines to their `log`, or stderr. */
function operatorLogger(options: OperatorOptions): Logger {
  if (options.logger) return options.logger;
  const lines = options.log;
  return createLogger({
    component: 'operator',
    ...(lines ? { format: 'text', stamp: false, color: false, write: (l) => lines(l.trimEnd()) } : {}),
  });
}

export function startOperator(options: OperatorOptions): RunningOperator {
  const log = operatorLogger(options);
  const metrics = new OperatorMetrics({ processMetrics: true });
  // One connection pool for every API request (see pooled-kubeconfig.ts).
  const kc = PooledKubeConfig.from(options.kubeConfig);
  const abort = new AbortController();
  let context: FleetContext | undefined;
  let ready = false;
  let stopReason: (reason: string) => void = () => undefined;
  const stopped = new Promise<string>((resolve) => (stopReason = resolve));
  const cleanups: Cleanups = [];

  const identity =
    (options.leaderElection ? options.leaderElection.identity : undefined) ??
    `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  // Names this replica in the API server's audit log.
  const userAgent = `wasmfleet-operator (${identity})`;
  const { elector, leading } = options.leaderElection
    ? startLeading(kc, options.leaderElection, identity, userAgent, {
        metrics,
        log,
        stopReason: (reason) => stopReason(reason),
        signal: abort.signal,
      })
    : { elector: undefined, leading: Promise.resolve() };

  const readyPromise = leading.then(async () => {
    if (abort.signal.aborted) return;
    // The User-Agent names the replica.
    const fence = writeFence(elector, metrics, log);
    const client = new FencedKubeConfig(kc, { userAgent, fence });
    context = await run(
      { ...options, kubeConfig: client, broker: { ...options.broker, fence } },
      metrics,
      log,
      cleanups,
      abort.signal,
    );
    ready = true;
    log.info('operator ready');
  });
  readyPromise.catch((error: unknown) => {
    log.error(`operator failed to start: ${error instanceof Error ? error.message : String(error)}`);
    stopReason(`failed to start: ${String(error)}`);
  });

  return {
    metrics,
    context: () => context,
    ready: readyPromise,
    isReady: () => ready,
    isLeader: () => (elector ? elector.isLeader() : true),
    stopped,
    stop: async () => {
      abort.abort();
      for (const cleanup of cleanups.reverse())
        await cleanup().catch((e: unknown) => log.error(`shutdown: ${String(e)}`));
      await elector?.stop();
      await kc.close();
      stopReason('stopped');
    },
  };
}

/** The parts run() starts, in order; each step names what it adds. */
async function run(
  options: OperatorOptions,
  metrics: OperatorMetrics,
  log: Logger,
  cleanups: Cleanups,
  signal: AbortSignal,
): Promise<FleetContext> {
  const kc = options.kubeConfig;
  const settings = { ...DEFAULT_SETTINGS, ...options.settings };
  const informers = await startInformers(kc, options.scope ?? {}, log, cleanups);
  const queues = fleetQueues(metrics);
  const functions = typedCache<WasmFunction>(informers.functions);
  const nodes = typedCache<EdgeNode>(informers.nodes);
  const pacing = new ReconcilePacing();
  const link = await connectDeviceLink(
    bridgeOptions(options, log, signal),
    settings,
    queues,
    log,
    cleanups,
    pacing,
    () => metrics.desiredResends.inc(),
  );
  const identities = await startDeviceIdentities(options.identity, {
    kc,
    broker: options.broker,
    bridge: link.bridge,
    nodes,
    nodeInformer: informers.nodes,
    nodeQueue: queues.nodes,
    log,
    cleanups,
  });
  const adopted = link.adopt();
  const placement = new PlacementBook(options.scheduler);
  placement.init(
    functions.list().map(schedulableFunction),
    nodes.list().map(schedulableNode),
    link.documents.publishedPlacement(),
    Date.now(),
  );
  const ctx = fleetContext(
    options,
    { settings, informers, functions, nodes, link, identities, placement, queues },
    log,
    cleanups,
  );
  const nodeChanges = nodeChangeBatch(placement, queues.functions);
  cleanups.push(() => {
    nodeChanges.close();
    return Promise.resolve();
  });
  startWatches(queues, fleetWatches(informers, { functions, nodeChanges }));
  await startAgentRolloutsFor(options, ctx, informers, log, cleanups);
  enqueueEverything(ctx, adopted);
  startFleetTimers(ctx, metrics, cleanups);
  startReconcilers(ctx, metrics, { workers: options.workers, log, pacing }, cleanups);
  return ctx;
}

function fleetQueues(metrics: OperatorMetrics): FleetQueues {
  return {
    functions: new WorkQueue({ name: 'wasmfunction', hooks: metrics.queueHooks() }),
    nodes: new WorkQueue({ name: 'edgenode', hooks: metrics.queueHooks() }),
  };
}

/** The fleet bridge waits for a broker that is not up yet (a Helm install starts both). */
function bridgeOptions(options: OperatorOptions, log: Logger, signal: AbortSignal): FleetBridgeOptions {
  return {
    ...options.broker,
    dynamicSecurity: options.identity !== undefined,
    onUnreachable: (error, retryInMs) =>
      log.warn(
        `waiting for the MQTT broker at ${brokerForLogs(options.broker.url)}: ${String(error)}; retrying in ${retryInMs} ms`,
      ),
    signal,
  };
}

interface ContextParts {
  readonly settings: FleetSettings;
  readonly informers: FleetInformers;
  readonly functions: Cache<WasmFunction>;
  readonly nodes: Cache<EdgeNode>;
  readonly link: DeviceLink;
  readonly identities: DeviceIdentities | undefined;
  readonly placement: PlacementBook;
  readonly queues: FleetQueues;
}

/** What the controllers share, with module resolution and the Event recorder it needs. */
function fleetContext(
  options: OperatorOptions,
  parts: ContextParts,
  log: Logger,
  cleanups: Cleanups,
): FleetContext {
  const kc = options.kubeConfig;
  const { settings, informers, link } = parts;
  const fleet = options.scope?.fleet;
  const moduleCache = new ModuleCache();
  // Module sources read ConfigMaps and pull Secrets from the informer caches, not the API server:
  // a reconcile per device report must not cost an API read each.
  const kubeReader: KubeReader = {
    getConfigMap: (namespace, name) => Promise.resolve(informers.configMaps.get(namespace, name)),
    getSecret: (namespace, name) => Promise.resolve(informers.secrets.get(namespace, name)),
  };
  const recorder = eventRecorder(kc, options.eventAggregationWindowMs, log);
  cleanups.push(() => recorder.close());
  return {
    settings: {
      ...settings,
      ...(fleet ? { registrationLabels: { ...settings.registrationLabels, [FLEET_LABEL]: fleet } } : {}),
    },
    customObjects: kc.makeApiClient(CustomObjectsApi),
    functions: parts.functions,
    nodes: parts.nodes,
    configMaps: informers.configMaps,
    secrets: informers.secrets,
    bridge: link.bridge,
    ...(parts.identities ? { identities: parts.identities } : {}),
    documents: link.documents,
    placement: parts.placement,
    reports: link.reports,
    liveness: link.liveness,
    delivery: link.delivery,
    // Blobs the retained documents reference were published by us or a predecessor.
    publishedModules: link.documents.referencedDigests(),
    pinnedModules: new Set(),
    lastStatus: new Map(),
    revisions: new RevisionStore(kc),
    functionQueue: parts.queues.functions,
    nodeQueue: parts.queues.nodes,
    resolveModule: (fn) =>
      resolveModule(fn.spec.module, {
        namespace: fn.metadata.namespace ?? 'default',
        kube: kubeReader,
        cache: moduleCache,
        plainHttpRegistries: options.plainHttpRegistries,
        signaturePolicy: options.moduleSignatures,
      }),
    recordEvent: (event) => recorder.record(event),
    now: () => Date.now(),
  };
}

function eventRecorder(kc: KubeConfig, windowMs: number | undefined, log: Logger): EventRecorder {
  return new EventRecorder(kc.makeApiClient(EventsV1Api), {
    reportingController: 'wasmfleet.io/operator',
    reportingInstance: `wasmfleet-operator-${process.pid}`,
    ...(windowMs === undefined ? {} : { windowMs }),
    onError: (error) => log.warn(`recording an event failed: ${String(error)}`),
  });
}

/** Agent upgrades through rollouts (docs/adr/0032): planned from the EdgeNodes' status. */
async function startAgentRolloutsFor(
  options: OperatorOptions,
  ctx: FleetContext,
  informers: FleetInformers,
  log: Logger,
  cleanups: Cleanups,
): Promise<void> {
  const fleet = options.scope?.fleet;
  const agentRollouts = await startAgentRollouts({
    kubeConfig: options.kubeConfig,
    url: options.broker.url,
    client: mqttClientOptions(options.broker),
    nodes: ctx.nodes,
    log,
    ...(fleet !== undefined ? { fleet } : {}),
  });
  cleanups.push(() => agentRollouts.close());
  informers.nodes.on(() => agentRollouts.nodesChanged());
}

/** Everything known is reconciled once: live functions, and functions devices still run. */
function enqueueEverything(ctx: FleetContext, adopted: Iterable<string>): void {
  for (const fn of ctx.functions.list()) ctx.functionQueue.add(namespacedKey(fn));
  for (const key of adopted) ctx.functionQueue.add(key);
  for (const node of ctx.nodes.list()) ctx.nodeQueue.add(node.metadata.name ?? '');
  for (const node of ctx.reports.keys()) ctx.nodeQueue.add(node);
}
