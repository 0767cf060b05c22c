// SPDX-License-Identifier: Apache-2.0
// The edge agent: keeps an MQTT session, converges on the node's retained desired state (also
// from its on-disk copy, so a reboot without a broker restarts the last functions), feeds
// sensor messages to functions and publishes their outputs, and reports status and heartbeats.
import { arch, platform } from 'node:os';
import path from 'node:path';
import mqtt, { type IConnackPacket, type IPublishPacket, type MqttClient } from 'mqtt';
import {
  brokerForLogs,
  createLogger,
  desiredTopic,
  FUNCTION_DEFAULTS,
  logTopic,
  parseDesiredState,
  statusTopic,
  WIRE_PREFIX,
  type DesiredState,
  type Logger,
  type LogLine,
  type NodeStatus,
  type TrustedKey,
} from '@wasmfleet/api';
import { closeOnOversizedPacket, isPacketTooLarge } from '@wasmfleet/api/mqtt';
import {
  FunctionSubscriptions,
  type Outcome,
  type SubscriptionClient,
  type SubscriptionMode,
} from '../mqtt/function-subscriptions.ts';
import { OrderedAcks } from '../mqtt/ordered-acks.ts';
import { DEFAULT_OUTPUT_BUDGET, DropReporter, OutputBudget } from '../mqtt/output-budget.ts';
import {
  clientOptions,
  describeConnectionError,
  offlineStatus,
  reconnectDelayMs,
  type SessionSettings,
} from '../mqtt/session-options.ts';
import { CONTROL_SUBSCRIPTION_ID } from '../mqtt/subscription-plan.ts';
import { readIfExists, writeFileAtomic } from '../persist/atomic-file.ts';
import { loadFunction } from '../runtime/load-function.ts';
import type { FunctionThread, Isolation, LoadFunction, LogLevel } from '../runtime/types.ts';
import { httpSource } from '../store/fetch-module.ts';
import { ModuleStore } from '../store/module-store.ts';
import { DEFAULT_MAX_IN_FLIGHT, InputBackpressure } from './input-backpressure.ts';
import { carries, InputDispatch, type CopyIds } from './input-dispatch.ts';
import { FunctionSet } from './function-set.ts';
import type { FunctionContext, ManagedFunction } from './managed-function.ts';
import { ModuleTopicSource } from './module-topic-source.ts';
import { deliverOutputs, type OutputDelivery } from './output-delivery.ts';
import { SensorRegistry } from './sensor-registry.ts';
import { AGENT_VERSION } from '../version.ts';

export { AGENT_VERSION };

export interface AgentOptions extends SessionSettings {
  readonly dataDir: string;
  readonly heartbeatSeconds?: number;
  /** Sensors this node reports; others are learned from the input topics it sees. */
  readonly sensors?: readonly string[];
  readonly maxFunctions?: number;
  readonly maxStoreBytes?: number;
  /** Public keys whose module signatures this device accepts (ADR 0011). */
  readonly trustedKeys?: readonly TrustedKey[];
  /** Run modules no trusted key vouches for; default: only when no key is trusted. */
  readonly allowUnsigned?: boolean;
  /**
   * Unacknowledged QoS 1 inputs the broker may send before it waits for our PUBACKs (MQTT 5
   * Receive Maximum), and inputs waiting for a running function before the agent stops reading.
   */
  readonly maxInFlight?: number;
  /**
   * Outputs (and their bytes) waiting for the broker — queued while disconnected or awaiting a
   * PUBACK — before the agent drops new ones (counted in status `outputBuffer.dropped`).
   */
  readonly maxBufferedOutputs?: number;
  readonly maxBufferedOutputBytes?: number;
  /** The agent's own diagnostics (stderr by default). */
  readonly log?: (level: LogLevel, text: string) => void;
  readonly load?: LoadFunction;
  /** Where core modules run (ADR 0018); default 'auto'. */
  readonly isolation?: Isolation;
  /**
   * Use MQTT 5 subscription identifiers to take one copy of each reading (default: whenever the
   * broker offers them). false makes the agent hold non-overlapping filters instead, as it does on
   * MQTT 3.1.1 (docs/adr/0024); tests use it to check that way on a broker that sends copies.
   */
  readonly subscriptionIdentifiers?: boolean;
  /**
   * One more control topic of this node to read (the agent target of AgentRollouts, handled by
   * agent/src/upgrade/), and what it adds to the status document.
   */
  readonly control?: AgentControl;
}

export interface AgentControl {
  readonly topic: string;
  onMessage(payload: Uint8Array): void;
  status(): Partial<NodeStatus>;
}

/** mqtt.js skips its own PUBACK when handleMessage calls back with an error (see ordered-acks.ts). */
const DEFER_ACK = new Error('ack deferred until the outputs are with the broker');
/** Where control messages live: every input's topic is checked against it, built once. */
const CONTROL_TOPICS = `${WIRE_PREFIX}/`;
type PacketSender = { _sendPacket(packet: { cmd: 'puback'; messageId: number; reasonCode: number }): void };
/** Each step of stop() that waits on the broker gives up after this long. */
const STOP_STEP_MS = 2_000;

/**
 * Socket settings for each new connection (a reconnect builds a new socket). Nagle's algorithm
 * goes off (mqtt.js leaves it on): with it on, a small write (a PUBACK) that follows another one
 * still unacknowledged at the TCP level waits for the broker's delayed ACK, ~40 ms per message
 * under a steady QoS 1 stream.
 */
function tuneSocket(client: MqttClient, drained: () => void): void {
  const stream = client.stream as
    | Partial<{
        setNoDelay(on: boolean): void;
        setMaxListeners(n: number): void;
        on(event: 'drain', listener: () => void): void;
      }>
    | undefined;
  stream?.setNoDelay?.(true);
  // QoS 0 reading waits while this socket needs to drain (input-backpressure.ts).
  stream?.on?.('drain', drained);
  // mqtt.js waits for 'drain' with one listener per publish with a callback written while the
  // socket is full: QoS 1 outputs, bounded by the in-flight window (QoS 0 outputs are written
  // without one). So Node's "possible EventEmitter memory leak" warning at 10 (or 1,000) would
  // only alarm whoever reads a busy device's log.
  stream?.setMaxListeners?.(2 * DEFAULT_MAX_IN_FLIGHT);
}

/** The connection's socket holds more than its high-water mark: QoS 0 reading waits for 'drain'. */
function socketFull(client: MqttClient | undefined): boolean {
  return (
    client?.connected === true &&
    (client.stream as { writableNeedDrain?: boolean }).writableNeedDrain === true
  );
}

/**
 * Ordered acknowledgements whose PUBACKs, released while mqtt.js works through one socket read,
 * go out together after it (microtasks run once its nextTick chain is done), so they share one
 * write: sent one by one they cost a syscall each, a third of the QoS 1 path.
 */
function batchedPubacks(client: MqttClient): OrderedAcks {
  const sender = client as unknown as PacketSender;
  let acksDue: number[] = [];
  const sendAcks = (): void => {
    const due = acksDue;
    acksDue = [];
    for (const messageId of due) sender._sendPacket({ cmd: 'puback', messageId, reasonCode: 0 });
  };
  return new OrderedAcks((messageId) => {
    if (acksDue.push(messageId) === 1) queueMicrotask(sendAcks);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

export class Agent {
  readonly #o: AgentOptions;
  readonly #store: ModuleStore;
  readonly #functions: FunctionSet;
  readonly #subscriptions: FunctionSubscriptions;
  readonly #sensors: SensorRegistry;
  readonly #startedAt = Date.now();
  #client: MqttClient | undefined;
  #acks: OrderedAcks | undefined;
  #moduleTopic: ModuleTopicSource | undefined;
  #desired: DesiredState | undefined;
  /** Where the agent logs when no `log` option is given (docs/adr/0035), made on first use. */
  #logger: Logger | undefined;
  readonly #backpressure: InputBackpressure;
  readonly #inputs: InputDispatch;
  #heartbeat: NodeJS.Timeout | undefined;
  #statusTimer: NodeJS.Timeout | undefined;
  #reconnects = 0;
  /** No connection of this process has been made yet. */
  #firstConnection = true;
  /** The broker refused MQTT 5: reconnect (with 3.1.1) once the connection closes. */
  #fallingBack = false;
  #stopping = false;
  readonly #outputs: OutputBudget;
  readonly #drops = new DropReporter();
  #reconciling: Promise<void> = Promise.resolve();

  constructor(options: AgentOptions) {
    this.#o = options;
    this.#sensors = new SensorRegistry(options.sensors);
    this.#store = new ModuleStore({
      dir: options.dataDir,
      ...(options.maxStoreBytes ? { maxTotalBytes: options.maxStoreBytes } : {}),
    });
    this.#outputs = new OutputBudget({
      maxMessages: options.maxBufferedOutputs ?? DEFAULT_OUTPUT_BUDGET.maxMessages,
      maxBytes: options.maxBufferedOutputBytes ?? DEFAULT_OUTPUT_BUDGET.maxBytes,
    });
    this.#subscriptions = new FunctionSubscriptions({
      file: path.join(options.dataDir, 'subscriptions.json'),
      log: (level, text) => this.#log(level, text),
      describeRefusal: (filter, error) => this.#refusal(filter, error),
      released: (filter) => this.#released(filter),
    });
    this.#functions = new FunctionSet({
      context: () => this.#functionContext(),
      routesChanged: () => this.#syncSubscriptions(),
    });
    this.#backpressure = new InputBackpressure(options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT, () =>
      socketFull(this.#client),
    );
    this.#inputs = this.#inputDispatch();
  }

  #inputDispatch(): InputDispatch {
    const delivery: OutputDelivery = {
      client: () => this.#client,
      acks: () => this.#acks,
      outputs: this.#outputs,
      backpressure: this.#backpressure,
      dropped: (connected) => this.#outputDropped(connected),
    };
    return new InputDispatch({
      functions: () => this.#functions.serving(),
      idOf: (filter) => this.#subscriptions.idOf(filter),
      sensors: this.#sensors,
      backpressure: this.#backpressure,
      acks: () => this.#acks,
      log: (level, text) => this.#log(level, text),
      deliver: (fn, batch, results) => deliverOutputs(delivery, fn, batch, results),
    });
  }

  get client(): MqttClient | undefined {
    return this.#client;
  }

  /** Starts cached functions first (no broker needed), then connects. */
  async start(): Promise<void> {
    const cached = await readIfExists(this.#desiredFile);
    if (cached) {
      const parsed = parseDesiredState(cached);
      if (parsed.ok && parsed.value.node === this.#o.nodeId) this.#desired = parsed.value;
      else
        this.#log(
          'warn',
          `ignoring the cached desired state: ${parsed.ok ? 'it is for another node' : parsed.errors.join('; ')}`,
        );
    }
    await this.#subscriptions.load();
    // Functions are created before the session exists, so messages the broker queued for us
    // while we were away find their function (queued until it is Running), never nothing.
    const reconciled = this.#reconcile();
    this.#connect();
    await reconciled;
    this.#heartbeat = setInterval(() => this.#publishStatus(), (this.#o.heartbeatSeconds ?? 30) * 1000);
  }

  get #desiredFile(): string {
    return path.join(this.#o.dataDir, 'desired.json');
  }

  /** The session's side of FunctionSubscriptions. */
  #subscriptionClient(client: MqttClient): SubscriptionClient {
    const outcome = (error: Error | null | undefined): Outcome => {
      if (!error) return { ok: true };
      // mqtt.js attaches the SUBACK to a refusal; a connection lost meanwhile has none.
      const refused = (error as { packet?: unknown }).packet !== undefined;
      return refused && !this.#stopping ? { ok: false, refused: error } : { ok: false };
    };
    return {
      subscribe: (filter, held, done) => {
        const v5 = client.options.protocolVersion === 5;
        client.subscribe(
          filter,
          {
            qos: held.qos,
            // Retained readings only for a new subscription, not again when one is renewed.
            ...(v5 ? { rh: 1 } : {}),
            ...(held.id !== undefined ? { properties: { subscriptionIdentifier: held.id } } : {}),
          },
          (error) => done(outcome(error)),
        );
      },
      unsubscribe: (filter, done) => {
        client.unsubscribe(filter, (error) => done(error ? { ok: false } : { ok: true }));
      },
    };
  }

  /** The log line for a subscription the broker refused (an ACL that does not grant the filter). */
  #refusal(filter: string, error: Error): string {
    return `the broker refused the subscription to ${filter} (${error.message}): MQTT user ${JSON.stringify(this.#client?.options.username ?? '')} may not read it — check that --node (${this.#o.nodeId}) is the device these credentials belong to (with per-device identity they are its node id), and the broker's ACL`;
  }

  /** The control topics' subscription (desired state, modules), with their identifier on MQTT 5. */
  #subscribeControl(client: MqttClient, topic: string, subscribed?: () => void, attempt = 0): void {
    const ids = this.#subscriptions.mode === 'identifiers';
    client.subscribe(
      topic,
      { qos: 1, ...(ids ? { properties: { subscriptionIdentifier: CONTROL_SUBSCRIPTION_ID } } : {}) },
      (error) => {
        subscribed?.();
        // Only a SUBACK that refuses (mqtt.js attaches it); a lost connection subscribes again.
        if (!error || (error as { packet?: unknown }).packet === undefined || this.#stopping) return;
        // An ACL that does not grant it, or a clustered broker electing leaders after losing a
        // node: asked for again (1 s doubling to 30 s) while this connection lasts.
        const retryInMs = Math.min(30_000, 1_000 * 2 ** attempt);
        this.#log('error', `${this.#refusal(topic, error)}; retrying in ${retryInMs / 1000} s`);
        setTimeout(() => {
          if (client === this.#client && client.connected && !this.#stopping)
            this.#subscribeControl(client, topic, undefined, attempt + 1);
        }, retryInMs).unref();
      },
    );
  }

  #log(level: LogLevel, text: string): void {
    if (this.#o.log) this.#o.log(level, text);
    else (this.#logger ??= createLogger({ component: 'agent' }).with({ node: this.#o.nodeId }))[level](text);
  }

  // ----------------------------------------------------------------------------- MQTT session

  #connect(): void {
    // Options only, the broker's address included: given a URL string, mqtt.js would parse it
    // with the deprecated url.parse() (see brokerAddress).
    const client = mqtt.connect(
      clientOptions({ ...this.#o, receiveMaximum: this.#o.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT }),
    );
    this.#client = client;
    tuneSocket(client, () => this.#backpressure.resume());
    closeOnOversizedPacket(client, (error) => {
      this.#log('error', `${error.message} from ${brokerForLogs(this.#o.brokerUrl)}; reconnecting`);
    });
    this.#acks = batchedPubacks(client);
    this.#moduleTopic = new ModuleTopicSource({
      subscribe: (t, subscribed) => this.#subscribeControl(client, t, subscribed),
      unsubscribe: (t) => client.unsubscribe(t),
      get connected() {
        return client.connected;
      },
    });
    client.handleMessage = (packet, callback) => {
      this.#onPacket(packet, callback);
    };
    client.on('connect', (connack) => {
      this.#onConnect(client, connack);
    });
    client.on('close', () => {
      this.#onClose(client);
    });
    client.on('error', (error) => {
      this.#onError(client, error);
    });
  }

  #onConnect(client: MqttClient, connack: IConnackPacket): void {
    tuneSocket(client, () => this.#backpressure.resume());
    this.#reconnects = 0;
    client.options.reconnectPeriod = reconnectDelayMs(0);
    this.#log(
      'info',
      `connected to ${connectedNode(client, this.#o.brokerUrl)} (MQTT ${client.options.protocolVersion === 5 ? '5' : '3.1.1'})`,
    );
    const fresh = !connack.sessionPresent;
    const mode = this.#subscriptionMode(client, connack);
    this.#inputs.invalidate(); // which copy a function takes depends on the mode
    this.#subscriptions.connected(this.#subscriptionClient(client), mode, fresh);
    // A session the broker kept holds the desired-state subscription; ask again anyway on the
    // first connection of this process (its previous life may have been an older agent).
    if (fresh || this.#firstConnection) {
      this.#subscribeControl(client, desiredTopic(this.#o.nodeId));
      if (this.#o.control) this.#subscribeControl(client, this.#o.control.topic);
    }
    this.#firstConnection = false;
    if (fresh) this.#moduleTopic?.resubscribe();
    const owed = this.#drops.flush(this.#outputs.report(), true, Date.now());
    if (owed) this.#log('warn', owed);
    this.#publishStatus();
  }

  #onClose(client: MqttClient): void {
    this.#subscriptions.disconnected();
    this.#acks?.reset();
    this.#backpressure.resume(); // a closed socket no longer holds inputs back
    if (this.#stopping) return;
    client.options.reconnectPeriod = reconnectDelayMs(++this.#reconnects);
    // mqtt.js does not reconnect after a refused CONNACK: after switching to 3.1.1, ask it to.
    if (this.#fallingBack) {
      this.#fallingBack = false;
      setTimeout(() => {
        if (!this.#stopping) client.reconnect();
      }, 10);
    }
  }

  #onError(client: MqttClient, error: Error): void {
    if (isPacketTooLarge(error)) return; // closeOnOversizedPacket says it
    const code = (error as { code?: number }).code;
    // 132 (MQTT 5) / 1 (3.1.1): unsupported protocol version → speak 3.1.1 from now on.
    if ((code === 132 || code === 1) && client.options.protocolVersion === 5) {
      this.#log('warn', 'the broker does not speak MQTT 5; falling back to 3.1.1');
      client.options.protocolVersion = 4;
      delete client.options.properties;
      if (client.options.will) delete client.options.will.properties;
      this.#fallingBack = true;
      return;
    }
    this.#log('warn', describeConnectionError(error, this.#o));
  }

  /** Subscription identifiers when the session has them and the agent may use them. */
  #subscriptionMode(client: MqttClient, connack: IConnackPacket): SubscriptionMode {
    const available = connack.properties?.subscriptionIdentifiersAvailable !== false;
    return client.options.protocolVersion === 5 && available && this.#o.subscriptionIdentifiers !== false
      ? 'identifiers'
      : 'disjoint';
  }

  /** The broker confirmed it dropped `filter`: no copy comes from it any more. */
  #released(filter: string): void {
    this.#functions.released(filter);
    this.#inputs.invalidate();
  }

  #onPacket(packet: IPublishPacket, callback: (error?: Error) => void): void {
    const { topic } = packet;
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    const acks = this.#acks;
    const ids: CopyIds = packet.properties?.subscriptionIdentifier;
    // Every QoS 1 input gets a ticket, even one nothing handles, so PUBACKs stay in order.
    const seq = packet.qos > 0 && packet.messageId !== undefined && acks ? acks.open(packet.messageId) : -1;
    if (topic.startsWith(CONTROL_TOPICS)) {
      // A control message is handled from the control subscription's copy; one that only came
      // through a function's `#` filter is a second copy (or one the ACL would not grant).
      if (ids === undefined || carries(ids, CONTROL_SUBSCRIPTION_ID)) {
        if (topic === desiredTopic(this.#o.nodeId)) this.#onDesired(payload);
        else if (topic === this.#o.control?.topic) this.#o.control.onMessage(payload);
        else this.#moduleTopic?.deliver(topic, payload);
      }
    } else {
      this.#inputs.dispatch(topic, payload, seq, ids, packet.retain);
    }
    if (seq >= 0) acks?.release(seq);
    const error = seq >= 0 ? DEFER_ACK : undefined;
    // Backpressure for QoS 0 inputs: stop reading from the socket while too many inputs wait
    // for a running function. Only work that finishes without the socket counts (calls, not the
    // broker's PUBACKs of our outputs, which arrive on this very socket): counting those
    // deadlocked. QoS 1 inputs never pause the socket: Receive Maximum already bounds them, and a
    // paused socket also leaves the broker's PINGRESPs unread — a function slower than its input
    // then missed the keepalive, the session dropped, the broker redelivered the backlog on top of
    // the queue, and the agent reconnected for ever (slow-function-keepalive.test.ts).
    // The same for outputs the socket has not taken yet: they are written without reading
    // anything, so waiting for them cannot deadlock (only while connected: a closed socket
    // finishes them all).
    // (QoS 0 has no deferred ack, so the callback itself is what waits: no closure per message.)
    if (seq < 0) this.#backpressure.admit(callback);
    else callback(error);
  }

  #outputDropped(connected: boolean): void {
    const line = this.#drops.note(this.#outputs.report(), connected, Date.now());
    if (line) {
      this.#log('warn', line);
      this.#statusChanged();
    }
  }

  // ------------------------------------------------------------------------- desired state

  #onDesired(payload: Uint8Array): void {
    if (payload.length === 0) return; // retained message cleared
    const parsed = parseDesiredState(payload);
    if (!parsed.ok) {
      this.#log('error', `refusing the desired state: ${parsed.errors.join('; ')}`);
      return;
    }
    const doc = parsed.value;
    if (doc.node !== this.#o.nodeId) {
      this.#log('error', `refusing a desired state addressed to node ${doc.node}`);
      return;
    }
    if (this.#desired && doc.generation < this.#desired.generation) return; // stale
    this.#desired = doc;
    void writeFileAtomic(this.#desiredFile, JSON.stringify(doc))
      .catch((error: unknown) => {
        this.#log('error', `could not persist the desired state: ${String(error)}`);
      })
      .then(() => this.#reconcile());
  }

  /** Resolves once the functions this reconcile started have settled (Running or failed). */
  #reconcile(): Promise<void> {
    let settled: Promise<void> = Promise.resolve();
    const failed = (error: unknown): void => {
      this.#log('error', `reconcile failed: ${String(error)}`);
    };
    // The chain only orders the plans; starting (a module fetch can wait 30 s) happens beside it,
    // so a function whose module never arrives does not hold back the next desired document.
    this.#reconciling = this.#reconciling
      .then(() => {
        settled = this.#reconcileOnce();
      })
      .catch(failed);
    return this.#reconciling.then(() => settled).catch(failed);
  }

  #reconcileOnce(): Promise<void> {
    if (this.#stopping) return Promise.resolve();
    const desired = (this.#desired?.functions ?? []).slice(0, this.#o.maxFunctions ?? 64);
    const started = this.#functions.converge(desired);
    this.#statusChanged();
    return started.then(async () => {
      // What the latest document references: a newer one may have arrived meanwhile.
      const referenced = new Set((this.#desired?.functions ?? []).map((f) => f.module.sha256));
      await this.#store.gc(referenced).catch(() => []);
      this.#statusChanged();
    });
  }

  readonly #defaultLoad: LoadFunction = (bytes, options) =>
    loadFunction(bytes, this.#o.isolation ? { ...options, isolation: this.#o.isolation } : options);

  #functionContext(): FunctionContext {
    return {
      nodeId: this.#o.nodeId,
      dataDir: this.#o.dataDir,
      store: this.#store,
      sources: [
        (ref, signal) => this.#moduleTopic?.source(ref, signal) ?? Promise.resolve(undefined),
        httpSource,
      ],
      referenced: () => new Set((this.#desired?.functions ?? []).map((f) => f.module.sha256)),
      load: this.#o.load ?? this.#defaultLoad,
      signatures: {
        trusted: this.#o.trustedKeys ?? [],
        allowUnsigned: this.#o.allowUnsigned ?? (this.#o.trustedKeys ?? []).length === 0,
      },
      log: (fn, level, text) => this.#functionLog(fn, level, text),
      changed: () => this.#statusChanged(),
    };
  }

  #syncSubscriptions(): void {
    this.#inputs.invalidate(); // which function serves a topic may have changed
    this.#subscriptions.want(this.#functions.wanted());
  }

  #functionLog(fn: ManagedFunction, level: LogLevel, text: string): void {
    const client = this.#client;
    if (!client?.connected) return;
    const line: LogLine = {
      version: 1,
      ts: new Date().toISOString(),
      level,
      namespace: fn.spec.namespace,
      name: fn.spec.name,
      node: this.#o.nodeId,
      revision: fn.spec.revision,
      text: text.slice(0, 4096),
    };
    client.publish(logTopic(fn.spec.namespace, fn.spec.name, this.#o.nodeId), JSON.stringify(line), {
      qos: 0,
    });
  }

  // ---------------------------------------------------------------------------------- status

  /** Something outside the agent (its control) changed what status() says: publish it soon. */
  statusChanged(): void {
    this.#statusChanged();
  }

  /** True while connected to the broker. */
  get connected(): boolean {
    return this.#client?.connected === true;
  }

  #statusChanged(): void {
    // Coalesce bursts of phase changes into one retained status message.
    this.#statusTimer ??= setTimeout(() => {
      this.#statusTimer = undefined;
      this.#publishStatus();
    }, 50);
  }

  /** Running functions by where their calls run (the /metrics gauge; ADR 0018). */
  functionThreads(): Record<FunctionThread, number> {
    return this.#functions.threads();
  }

  status(): NodeStatus {
    const functions = this.#functions.reports();
    return {
      version: 1,
      node: this.#o.nodeId,
      state: 'online',
      agentVersion: AGENT_VERSION,
      nodeVersion: process.version,
      arch: arch(),
      os: platform(),
      startedAt: new Date(this.#startedAt).toISOString(),
      heartbeatAt: new Date().toISOString(),
      heartbeatIntervalSeconds: this.#o.heartbeatSeconds ?? 30,
      ...(this.#desired ? { observedGeneration: this.#desired.generation } : {}),
      sensors: this.#sensors.report(),
      capacity: {
        maxFunctions: this.#o.maxFunctions ?? 64,
        memoryBytes: (this.#o.maxFunctions ?? 64) * FUNCTION_DEFAULTS.memoryBytes,
        runtimes: ['core'],
      },
      outputBuffer: this.#outputs.report(),
      functions,
      ...this.#o.control?.status(),
    };
  }

  #publishStatus(): void {
    const client = this.#client;
    if (!client?.connected || this.#stopping) return;
    client.publish(statusTopic(this.#o.nodeId), JSON.stringify(this.status()), { qos: 1, retain: true });
  }

  /**
   * Publishes the offline status, closes the session and stops every function. Bounded: each
   * step that waits on the broker gives up after STOP_STEP_MS, and functions bound their own
   * stop, so a dead broker or a stuck call cannot keep the process from exiting.
   */
  async stop(): Promise<void> {
    this.#stopping = true;
    clearInterval(this.#heartbeat);
    clearTimeout(this.#statusTimer);
    await Promise.race([this.#reconciling, sleep(STOP_STEP_MS)]);
    const client = this.#client;
    if (client?.connected) {
      await Promise.race([
        new Promise<void>((resolve) => {
          client.publish(
            statusTopic(this.#o.nodeId),
            JSON.stringify(offlineStatus(this.#o.nodeId)),
            { qos: 1, retain: true },
            () => {
              resolve();
            },
          );
        }),
        sleep(STOP_STEP_MS),
      ]);
    }
    if (client) {
      // end() waits for our in-flight publishes; a broker that never acknowledges them must not
      // hold the agent, so fall back to closing the socket (the session redelivers the inputs).
      const ended = await Promise.race([
        client.endAsync().then(() => true),
        sleep(STOP_STEP_MS).then(() => false),
      ]);
      if (!ended) await client.endAsync(true).catch(() => undefined);
    }
    this.#backpressure.releaseAll();
    await this.#functions.stopAll();
  }
}

/** The broker, or with a clustered one the node this connection reached (mqtt.js sets host and port per try). */
function connectedNode(client: MqttClient, brokerUrl: string): string {
  const { servers, protocol, host, port } = client.options;
  return servers && servers.length > 1 ? `${protocol}://${host}:${port}` : brokerForLogs(brokerUrl);
}
