// SPDX-License-Identifier: Apache-2.0
// Wires the operator together: informers → work queues → reconcilers, the MQTT fleet bridge,
// the scheduler, leader election and metrics. Everything here is plumbing; decisions live in
// fleet/ (pure) and controllers/.
import { hostname } from 'node:os';
import {
  CoreV1Api,
  CoordinationV1Api,
  CustomObjectsApi,
  EventsV1Api,
  type KubeConfig,
  type KubernetesObject,
  type V1ConfigMap,
  type V1Secret,
} from '@kubernetes/client-node';
import {
  brokerForLogs,
  EDGE_NODE_PLURAL,
  type EdgeNode,
  functionKey,
  GROUP,
  type NodeStatus,
  VERSION,
  WASM_FUNCTION_PLURAL,
  type WasmFunction,
} from '@wasmfleet/api';
import { FleetBridge, type FleetBridgeOptions } from './bridge/fleet-bridge.ts';
import {
  DEFAULT_SETTINGS,
  FLEET_LABEL,
  type FleetContext,
  type FleetSettings,
} from './controllers/fleet-context.ts';
import { functionReconciler } from './controllers/function-reconciler.ts';
import { nodeReconciler } from './controllers/node-reconciler.ts';
import { RevisionStore } from './controllers/revision-history.ts';
import { typedCache } from './controllers/typed-cache.ts';
import { Liveness } from './fleet/liveness.ts';
import { NodeDocuments } from './fleet/node-documents.ts';
import { reportChanges } from './fleet/report-changes.ts';
import { PlacementBook } from './fleet/placement-book.ts';
import { schedulableFunction, schedulableNode } from './fleet/scheduling-view.ts';
import {
  configMapSource,
  customResourceSource,
  EventRecorder,
  Informer,
  LeaderElector,
  OperatorMetrics,
  FencedKubeConfig,
  reconcileLoop,
  secretSource,
  unfenced,
  WorkQueue,
  type RunningLoop,
  type WriteFence,
} from './kube/index.ts';
import { ModuleCache, resolveModule, type ClusterSignaturePolicy, type KubeReader } from './modules/index.ts';
import { PooledKubeConfig } from './kube/pooled-kubeconfig.ts';
import { DeviceIdentities } from './identity/device-identities.ts';
import { mqttClientOptions, startDeviceJoin } from './join/device-join-wiring.ts';
import { startAgentRollouts } from './agents/agent-rollouts.ts';
import type { SchedulerOptions } from './scheduler/index.ts';

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
  /**
   * Per-device MQTT identity (ADR 0012): a dynamic-security client and role per EdgeNode, its
   * password in the Secret `wasmfleet-mqtt-<node>` in `namespace`. Needs Mosquitto's dynamic
   * security plugin with the operator's user as its admin.
   */
  readonly identity?: {
    readonly namespace: string;
    /** The broker URL devices use, copied into each Secret for the installer. */
    readonly deviceBrokerUrl?: string;
    /** The CA devices verify the broker with (PEM), copied into each Secret. */
    readonly ca?: string;
    /** Topics (with `{node}`) every device may publish besides its outputs, e.g. `sensors/{node}/#`. */
    readonly devicePublish?: readonly string[];
  };
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

export function startOperator(options: OperatorOptions): RunningOperator {
  const log = options.log ?? ((line: string) => console.error(line));
  const metrics = new OperatorMetrics({ processMetrics: true });
  // One connection pool for every API request (see pooled-kubeconfig.ts).
  const kc = PooledKubeConfig.from(options.kubeConfig);
  const abort = new AbortController();
  let context: FleetContext | undefined;
  let elector: LeaderElector | undefined;
  let ready = false;
  let stopReason: (reason: string) => void = () => undefined;
  const stopped = new Promise<string>((resolve) => (stopReason = resolve));
  const cleanups: (() => Promise<void>)[] = [];

  const identity =
    (options.leaderElection ? options.leaderElection.identity : undefined) ??
    `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  // Names this replica in the API server's audit log.
  const userAgent = `wasmfleet-operator (${identity})`;
  const leading = new Promise<void>((resolve, reject) => {
    if (!options.leaderElection) {
      resolve();
      return;
    }
    const le = options.leaderElection;
    // The Lease itself is guarded by its resourceVersion, not by the fence.
    const leaseClient = new FencedKubeConfig(kc, { userAgent, fence: unfenced });
    elector = new LeaderElector(leaseClient.makeApiClient(CoordinationV1Api), {
      namespace: le.namespace,
      name: le.name ?? 'wasmfleet-operator',
      identity,
      ...(le.leaseDurationMs ? { leaseDurationMs: le.leaseDurationMs } : {}),
      ...(le.renewDeadlineMs ? { renewDeadlineMs: le.renewDeadlineMs } : {}),
      ...(le.retryPeriodMs ? { retryPeriodMs: le.retryPeriodMs } : {}),
      onStartedLeading: () => {
        metrics.isLeader.set(1);
        log('became the leader');
        resolve();
      },
      onStoppedLeading: (reason) => {
        metrics.isLeader.set(0);
        // Like controller-runtime: a replica that lost the Lease stops acting at once.
        log(`leadership lost: ${reason}`);
        stopReason(`lost leadership: ${reason}`);
      },
      onError: (error) => log(`leader election: ${String(error)}`),
    });
    void elector.run().catch(reject);
    abort.signal.addEventListener('abort', () => resolve());
  });

  const readyPromise = leading.then(async () => {
    if (abort.signal.aborted) return;
    // Every write this replica makes goes through the fence (see kube/fence.ts): a leader that
    // lost its Lease without noticing yet writes nothing. The User-Agent names the replica.
    const leader = elector;
    const fence: WriteFence = leader
      ? {
          check: (what) => {
            try {
              leader.check(what);
            } catch (error) {
              metrics.writesRefused.inc();
              log(`write refused: ${(error as Error).message}`);
              throw error;
            }
          },
        }
      : unfenced;
    const client = new FencedKubeConfig(kc, { userAgent, fence });
    context = await run(
      { ...options, kubeConfig: client, broker: { ...options.broker, fence } },
      metrics,
      log,
      cleanups,
      abort.signal,
    );
    ready = true;
    log('operator ready');
  });
  readyPromise.catch((error: unknown) => {
    log(`operator failed to start: ${error instanceof Error ? error.message : String(error)}`);
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
        await cleanup().catch((e: unknown) => log(`shutdown: ${String(e)}`));
      await elector?.stop();
      await kc.close();
      stopReason('stopped');
    },
  };
}

async function run(
  options: OperatorOptions,
  metrics: OperatorMetrics,
  log: (l: string) => void,
  cleanups: (() => Promise<void>)[],
  signal: AbortSignal,
): Promise<FleetContext> {
  const kc = options.kubeConfig;
  const settings = { ...DEFAULT_SETTINGS, ...options.settings };
  const onError = (what: string) => (error: unknown, inMs: number) =>
    log(`${what} watch failed, restarting in ${inMs} ms: ${String(error)}`);
  const namespaceScope = options.scope?.namespace ? { namespace: options.scope.namespace } : {};
  const fleet = options.scope?.fleet;
  const functionInformer = new Informer<KubernetesObject>(
    kc,
    customResourceSource(
      kc,
      { group: GROUP, version: VERSION, plural: WASM_FUNCTION_PLURAL },
      namespaceScope,
    ),
    { onError: onError('wasmfunctions') },
  );
  const nodeInformer = new Informer<KubernetesObject>(
    kc,
    customResourceSource(
      kc,
      { group: GROUP, version: VERSION, plural: EDGE_NODE_PLURAL },
      fleet ? { labelSelector: `${FLEET_LABEL}=${fleet}` } : {},
    ),
    { onError: onError('edgenodes') },
  );
  const configMapInformer = new Informer<V1ConfigMap>(kc, configMapSource(kc, namespaceScope), {
    onError: onError('configmaps'),
  });
  const secretInformer = new Informer<V1Secret>(kc, secretSource(kc, namespaceScope), {
    onError: onError('secrets'),
  });
  const informers = [functionInformer, nodeInformer, configMapInformer, secretInformer];
  cleanups.push(async () => {
    await Promise.all(informers.map((i) => i.stop()));
  });
  for (const informer of informers) informer.start();
  await Promise.all(informers.map((i) => i.waitForCacheSync(120_000)));

  const functionQueue = new WorkQueue({ name: 'wasmfunction', hooks: metrics.queueHooks() });
  const nodeQueue = new WorkQueue({ name: 'edgenode', hooks: metrics.queueHooks() });
  const documents = new NodeDocuments();
  const reports = new Map<string, NodeStatus>();
  const functions = typedCache<WasmFunction>(functionInformer);
  const nodes = typedCache<EdgeNode>(nodeInformer);

  const liveness = new Liveness(settings.missedHeartbeats);
  // Until the retained documents are adopted, every one seen is a predecessor's to take over.
  let started = false;
  const identity = options.identity;
  let identities: DeviceIdentities | undefined;
  const bridge = await FleetBridge.connect(
    {
      ...options.broker,
      dynamicSecurity: identity !== undefined,
      onUnreachable: (error, retryInMs) =>
        log(
          `waiting for the MQTT broker at ${brokerForLogs(options.broker.url)}: ${String(error)}; retrying in ${retryInMs} ms`,
        ),
      signal,
    },
    (b) => {
      b.on('subscriptionRefused', (filters, error, retryInMs) =>
        log(
          `the broker refused the subscription to ${filters.join(', ')} (${error}); retrying in ${retryInMs} ms`,
        ),
      );
      b.on('desired', (doc) => {
        if (!started) {
          documents.recordPublished(doc);
          return;
        }
        // Someone else (a deposed leader, a stray client) overwrote a device's document, or one
        // arrived after the start-up read-back: the functions it names and the ones assigned
        // there are reconciled, which republishes it if it is not what the spec says.
        const seen = documents.observeRetained(doc);
        if (seen === 'own') return;
        if (seen === 'overwritten')
          log(`the desired document of ${doc.node} was overwritten by another client`);
        for (const key of documents.assignmentsOfNode(doc.node)) functionQueue.add(key);
        for (const f of doc.functions) functionQueue.add(functionKey(f));
      });
      b.on('status', (node, status) => {
        // Only what a report changes reaches the reconcilers: a heartbeat updates the report
        // (liveness, counters) and nothing else (ADR 0023).
        const changes = reportChanges(reports.get(node), status);
        reports.set(node, status);
        const back = liveness.observe(node);
        if (changes.node || back) nodeQueue.add(node);
        for (const key of changes.functions) functionQueue.add(key);
        if (back || changes.node) for (const key of documents.assignmentsOfNode(node)) functionQueue.add(key);
      });
      b.on('malformed', (topic, error) => log(`ignored a malformed message on ${topic}: ${error}`));
    },
  );
  cleanups.push(() => bridge.close());
  if (identity && bridge.dynsec) {
    identities = new DeviceIdentities({
      dynsec: bridge.dynsec,
      secrets: {
        core: kc.makeApiClient(CoreV1Api),
        namespace: identity.namespace,
        ...(identity.deviceBrokerUrl ? { brokerUrl: identity.deviceBrokerUrl } : {}),
        ...(identity.ca ? { ca: identity.ca } : {}),
      },
      edgeNodeUid: (node) => nodes.get(undefined, node)?.metadata.uid,
      log,
      ...(identity.devicePublish ? { extraPublish: identity.devicePublish } : {}),
    });
    const known = identities;
    bridge.on('connection', (state) => {
      if (state !== 'connected') return;
      // The broker may have restarted without its state: check every device again.
      known.forgetBrokerState();
      for (const node of nodes.list()) nodeQueue.add(node.metadata.name ?? '');
    });
    const removed = await identities.sweep((node) => nodes.get(undefined, node) !== undefined);
    if (removed.length > 0) log(`removed the broker identities of deleted devices: ${removed.join(', ')}`);
    // One-command join (docs/adr/0031): needs the per-device identity it hands out.
    const join = await startDeviceJoin(options.broker, identity, kc.makeApiClient(CoreV1Api), log);
    cleanups.push(() => join.close());
  }

  const placement = new PlacementBook(options.scheduler);
  const adopted = documents.adoptPublished();
  started = true;
  placement.init(
    functions.list().map(schedulableFunction),
    nodes.list().map(schedulableNode),
    documents.publishedPlacement(),
    Date.now(),
  );

  const moduleCache = new ModuleCache();
  // Module sources read ConfigMaps and pull Secrets from the informer caches, not the API server:
  // a reconcile per device report must not cost an API read each.
  const kubeReader: KubeReader = {
    getConfigMap: (namespace, name) => Promise.resolve(configMapInformer.get(namespace, name)),
    getSecret: (namespace, name) => Promise.resolve(secretInformer.get(namespace, name)),
  };
  const recorder = new EventRecorder(kc.makeApiClient(EventsV1Api), {
    reportingController: 'wasmfleet.io/operator',
    reportingInstance: `wasmfleet-operator-${process.pid}`,
    ...(options.eventAggregationWindowMs === undefined ? {} : { windowMs: options.eventAggregationWindowMs }),
    onError: (error) => log(`recording an event failed: ${String(error)}`),
  });
  cleanups.push(() => recorder.close());

  const ctx: FleetContext = {
    settings: {
      ...settings,
      ...(fleet ? { registrationLabels: { ...settings.registrationLabels, [FLEET_LABEL]: fleet } } : {}),
    },
    customObjects: kc.makeApiClient(CustomObjectsApi),
    functions,
    nodes,
    configMaps: configMapInformer,
    secrets: secretInformer,
    bridge,
    ...(identities ? { identities } : {}),
    documents,
    placement,
    reports,
    liveness,
    // Blobs the retained documents reference were published by us or a predecessor.
    publishedModules: documents.referencedDigests(),
    pinnedModules: new Set(),
    lastStatus: new Map(),
    revisions: new RevisionStore(kc),
    functionQueue,
    nodeQueue,
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

  functionInformer.on((_type, obj) =>
    functionQueue.add(`${obj.metadata?.namespace ?? 'default'}/${obj.metadata?.name ?? ''}`),
  );
  nodeInformer.on((type, obj) => {
    const name = obj.metadata?.name ?? '';
    if (type === 'delete')
      void identities
        ?.remove(name)
        .catch((e: unknown) => log(`removing the identity of ${name}: ${String(e)}`));
    const changed =
      type === 'delete'
        ? placement.apply({ removeNodes: [name], now: Date.now() })
        : placement.apply({ upsertNodes: [schedulableNode(obj as unknown as EdgeNode)], now: Date.now() });
    for (const key of changed) functionQueue.add(key);
    if (type === 'add') nodeQueue.add(name);
  });
  const referencing = (kind: 'configMap' | 'secret') => (_type: string, obj: KubernetesObject) => {
    const ns = obj.metadata?.namespace;
    const name = obj.metadata?.name;
    for (const fn of functions.list(ns)) {
      const spec = fn.spec;
      const uses =
        kind === 'configMap'
          ? spec.configMapRef?.name === name || spec.module.configMap?.name === name
          : spec.secretRef?.name === name || spec.module.pullSecretRef?.name === name;
      if (uses) functionQueue.add(`${ns ?? 'default'}/${fn.metadata.name ?? ''}`);
    }
  };
  configMapInformer.on(referencing('configMap'));
  secretInformer.on(referencing('secret'));

  // Agent upgrades through rollouts (docs/adr/0032): planned from the EdgeNodes' status.
  const agentRollouts = await startAgentRollouts({
    kubeConfig: kc,
    url: options.broker.url,
    client: mqttClientOptions(options.broker),
    nodes,
    log,
    ...(fleet !== undefined ? { fleet } : {}),
  });
  cleanups.push(() => agentRollouts.close());
  nodeInformer.on(() => agentRollouts.nodesChanged());

  // Everything known is reconciled once: live functions, and functions devices still run.
  for (const fn of functions.list())
    functionQueue.add(`${fn.metadata.namespace ?? 'default'}/${fn.metadata.name ?? ''}`);
  for (const key of adopted) functionQueue.add(key);
  for (const node of nodes.list()) nodeQueue.add(node.metadata.name ?? '');
  for (const node of reports.keys()) nodeQueue.add(node);

  // Devices whose heartbeats stopped without a last will: one pass over the reports, not a timer
  // per device.
  const sweep = setInterval(() => {
    for (const node of liveness.sweep(reports, Date.now())) {
      nodeQueue.add(node);
      for (const key of documents.assignmentsOfNode(node)) functionQueue.add(key);
    }
  }, settings.livenessSweepMs);
  sweep.unref();
  cleanups.push(() => {
    clearInterval(sweep);
    return Promise.resolve();
  });

  // Fleet gauges, from the caches (cheap enough every few seconds even for 10k devices).
  const gauges = setInterval(() => {
    metrics.devicesOnline.set(nodes.list().filter((n) => n.status?.phase === 'Online').length);
    const byPhase = new Map<string, number>();
    for (const fn of functions.list())
      byPhase.set(fn.status?.phase ?? 'Pending', (byPhase.get(fn.status?.phase ?? 'Pending') ?? 0) + 1);
    metrics.functionsByPhase.reset();
    for (const [phase, n] of byPhase) metrics.functionsByPhase.set({ phase }, n);
  }, 2_000);
  gauges.unref();
  cleanups.push(() => {
    clearInterval(gauges);
    return Promise.resolve();
  });

  const workers = options.workers ?? 4;
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
    reconcileLoop(functionQueue, functionReconciler(ctx), {
      controller: 'wasmfunction',
      workers,
      hooks: reconcileHooks,
    }),
    reconcileLoop(nodeQueue, nodeReconciler(ctx, { unknownDevice: () => metrics.unknownDevices.inc() }), {
      controller: 'edgenode',
      workers,
      hooks: reconcileHooks,
    }),
  ];
  cleanups.push(async () => {
    await Promise.all([functionQueue.shutdown(), nodeQueue.shutdown()]);
    await Promise.all(loops.map((l) => l.stopped));
  });
  return ctx;
}
