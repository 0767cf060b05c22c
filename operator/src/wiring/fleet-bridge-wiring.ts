// SPDX-License-Identifier: Apache-2.0
// The operator's side of the device link: the MQTT fleet bridge and the books it feeds (desired
// documents, device reports, liveness), with what each device message wakes written as a map to
// queue keys, like the informer watches (fleet-watches.ts).
import { functionKey, type DesiredState, type Logger, type NodeStatus } from '@wasmfleet/api';
import { FleetBridge, type FleetBridgeOptions } from '../bridge/fleet-bridge.ts';
import type { FleetSettings } from '../controllers/fleet-context.ts';
import { DeliveryWatch, type Resend } from '../fleet/delivery-watch.ts';
import { Liveness } from '../fleet/liveness.ts';
import { NodeDocuments } from '../fleet/node-documents.ts';
import type { ReconcilePacing } from '../fleet/reconcile-pacing.ts';
import { reportChanges } from '../fleet/report-changes.ts';
import { enqueue, type Wakes } from '../kube/index.ts';
import type { Cleanups } from './cleanups.ts';
import type { FleetQueues } from './fleet-watches.ts';

export interface DeviceLink {
  readonly bridge: FleetBridge;
  readonly documents: NodeDocuments;
  /** node → its latest status document. */
  readonly reports: Map<string, NodeStatus>;
  readonly liveness: Liveness;
  /** Desired documents their devices have not confirmed yet. */
  readonly delivery: DeliveryWatch;
  /**
   * Takes over the retained documents read back at start (the function keys they assign); every
   * document seen after this is someone else's write, reconciled away if it is not the spec's.
   */
  adopt(): Set<string>;
}

/** What a retained desired document wakes: the functions it names and those assigned there. */
function desiredWakes(
  link: Pick<DeviceLink, 'documents'>,
  doc: DesiredState,
  retained: boolean,
  log: Logger,
): Wakes<keyof FleetQueues> {
  // Someone else (a deposed leader, a stray client) overwrote a device's document, or one
  // arrived after the start-up read-back: the functions it names and the ones assigned
  // there are reconciled, which republishes it if it is not what the spec says.
  const published = link.documents.publishedFor(doc.node)?.generation;
  const seen = link.documents.observeRetained(doc, retained);
  if (seen === 'own') return {};
  if (seen === 'overwritten')
    log.warn(`the desired document of ${doc.node} was overwritten by another client`);
  if (seen === 'stale')
    log.warn(
      `the broker holds generation ${doc.generation} of the desired document of ${doc.node}, older than the ${String(published)} ` +
        'it acknowledged (a clustered broker lost a write with a node); publishing it again',
    );
  return { functions: [...link.documents.assignmentsOfNode(doc.node), ...doc.functions.map(functionKey)] };
}

/** What a device report wakes: only what it changes (a heartbeat updates the books alone). */
function statusWakes(
  link: Pick<DeviceLink, 'documents' | 'reports' | 'liveness'>,
  node: string,
  status: NodeStatus,
): Wakes<keyof FleetQueues> {
  // Only what a report changes reaches the reconcilers: a heartbeat updates the report
  // (liveness, counters) and nothing else (ADR 0023), unless it changes whether the device
  // counts as online (ADR 0041).
  const previous = link.reports.get(node);
  const changes = reportChanges(previous, status);
  link.reports.set(node, status);
  const onlineChanged = link.liveness.observe(node, previous, status, Date.now());
  const nodeChanged = changes.node || onlineChanged;
  return {
    nodes: nodeChanged ? [node] : [],
    functions: [...changes.functions, ...(nodeChanged ? link.documents.assignmentsOfNode(node) : [])],
  };
}

/** The longest wait before a document a device has not confirmed is sent again. */
const MAX_RESEND_MS = 5 * 60_000;

/** Sends a document its device has not confirmed once more (fleet/delivery-watch.ts). */
function resendDesired(bridge: FleetBridge, resend: Resend, log: Logger, resent: () => void): void {
  const { doc, attempt, waitedMs } = resend;
  if (attempt === 1)
    log.warn(
      `${doc.node} has been online ${Math.round(waitedMs / 1000)} s without confirming its desired document ` +
        `(generation ${doc.generation}); sending it again (a clustered broker can miss delivering a retained ` +
        `message to a subscription it is still setting up)`,
    );
  resent();
  // A refusal (this replica lost its Lease) or a dropped connection: the next status tries again.
  bridge.publishDesired(doc).catch((error: unknown) => {
    log.debug(`sending the desired document of ${doc.node} again failed: ${String(error)}`);
  });
}

/** Connects the bridge; its retained documents and reports are in the books when this resolves. */
export async function connectDeviceLink(
  broker: FleetBridgeOptions,
  settings: Pick<FleetSettings, 'missedHeartbeats' | 'desiredResendMs'>,
  queues: FleetQueues,
  log: Logger,
  cleanups: Cleanups,
  pacing: ReconcilePacing,
  resent: () => void = () => undefined,
): Promise<DeviceLink> {
  const documents = new NodeDocuments();
  const books = {
    documents,
    reports: new Map<string, NodeStatus>(),
    liveness: new Liveness(settings.missedHeartbeats),
    delivery: new DeliveryWatch({ graceMs: settings.desiredResendMs, maxGraceMs: MAX_RESEND_MS }),
  };
  // Until the retained documents are adopted, every one seen is a predecessor's to take over.
  let started = false;
  const bridge = await FleetBridge.connect(broker, (b) => {
    b.on('subscriptionRefused', (filters, error, retryInMs) =>
      log.warn(
        `the broker refused the subscription to ${filters.join(', ')} (${error}); retrying in ${retryInMs} ms`,
      ),
    );
    b.on('desired', (doc, retained) => {
      if (started) enqueue(queues, desiredWakes(books, doc, retained, log));
      else documents.recordPublished(doc);
    });
    b.on('status', (node, status) => {
      const resend = books.delivery.observe(node, status, Date.now());
      if (resend) resendDesired(b, resend, log, resent);
      const wakes = statusWakes(books, node, status);
      enqueue(queues, { nodes: wakes.nodes ?? [] });
      // Reports come in waves; one reconcile answers many of them (reconcile-pacing.ts).
      for (const key of wakes.functions ?? []) queues.functions.addAfter(key, pacing.delayMs);
    });
    b.on('malformed', (topic, error) => log.warn(`ignored a malformed message on ${topic}: ${error}`));
    // A reconnect is rare and says which node took the operator and what it granted: the
    // first thing to read when status stops arriving on a clustered broker (ADR 0029, 0038).
    let up = true;
    b.on('connection', (state) => {
      if (state === 'disconnected' && up) log.warn('lost the connection to the broker; reconnecting');
      up = state === 'connected';
    });
    b.on('resubscribed', (broker, granted) =>
      log.info(`reconnected to ${broker}; subscribed to ${granted.join(', ')}`),
    );
  });
  cleanups.push(() => bridge.close());
  return {
    bridge,
    ...books,
    adopt: () => {
      const adopted = documents.adoptPublished();
      // A predecessor's documents count as sent now: a device still behind gets its grace.
      const now = Date.now();
      for (const node of documents.publishedNodes()) {
        const doc = documents.publishedFor(node);
        if (doc) books.delivery.sent(doc, books.reports.get(node), now);
      }
      started = true;
      return adopted;
    },
  };
}
