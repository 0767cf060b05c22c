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
  functionKey,
  FUNCTION_DEFAULTS,
  logTopic,
  parseDesiredState,
  statusTopic,
  topicMatches,
  WIRE_PREFIX,
  type DesiredState,
  type Logger,
  type LogLine,
  type NodeStatus,
  type TrustedKey,
} from '@wasmfleet/api';
import { closeOnOversizedPacket, isPacketTooLarge } from '@wasmfleet/api/mqtt';
import { checkPayload } from '../io/payload-check.ts';
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
import { CONTROL_SUBSCRIPTION_ID, designatedFilter, type Qos } from '../mqtt/subscription-plan.ts';
import { readIfExists, writeFileAtomic } from '../persist/atomic-file.ts';
import { plan } from '../reconcile/plan.ts';
import { loadFunction } from '../runtime/load-function.ts';
import type {
  FunctionMessage,
  FunctionThread,
  InvokeResult,
  Isolation,
  LoadFunction,
  LogLevel,
} from '../runtime/types.ts';
import { httpSource } from '../store/fetch-module.ts';
import { ModuleStore } from '../store/module-store.ts';
import { ManagedFunction, type FunctionContext, type Route } from './managed-function.ts';
import { ModuleTopicSource } from './module-topic-source.ts';
import { SensorRegistry, sensorName } from './sensor-registry.ts';
import { AGENT_VERSION } from '../version.ts';

export { AGENT_VERSION };

const QOS1 = { qos: 1, retain: false } as const;

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
type PacketSender = { _sendPacket(packet: { cmd: 'puback'; messageId: number; reasonCode: number }): void };
const DEFAULT_MAX_IN_FLIGHT = 2048;
/**
 * QoS 0 outputs handed to mqtt.js but not yet written to the socket, beyond which the agent stops
 * reading QoS 0 inputs (and reads again below half of it). Without it a function faster than the
 * uplink filled the output buffer while connected and the agent dropped 34–46 % of its QoS 0
 * outputs (pipeline benchmark, unpaced sensor); now the broker's queue absorbs the surplus.
 */
const UNWRITTEN_HIGH_WATER = 1024;
/** Each step of stop() that waits on the broker gives up after this long. */
const STOP_STEP_MS = 2_000;

/** Where inputs on one topic go, and the sensor the topic names (cached per topic). */
interface Routing {
  readonly targets: readonly Target[];
  readonly sensor: string;
}

interface Entry {
  serving: ManagedFunction;
  /** A new revision starting up; it takes over once Running (or Failed). */
  next?: ManagedFunction;
  /**
   * Input filters of earlier revisions the broker may still send copies from: while it does,
   * the function keeps taking the copies of those (designatedFilter), oldest first.
   */
  retiring: string[];
}

/** Where inputs on one topic go (cached per topic; rebuilt when functions or routes change). */
interface Target {
  readonly fn: ManagedFunction;
  readonly route: Route;
  /** Identifier of the subscription whose copy the function takes (identifier mode only). */
  readonly designatedId: number | undefined;
  /** Identifier of the function's own first matching filter: its retained copies come from it. */
  readonly ownId: number | undefined;
}

/** The subscription identifiers a copy carries (MQTT 5), if any. */
type CopyIds = number | readonly number[] | undefined;

function carries(ids: number | readonly number[], id: number): boolean {
  return typeof ids === 'number' ? ids === id : ids.includes(id);
}

/** Inputs for one function gathered during one socket read: one hand-off to its worker. */
interface Batch {
  readonly inputs: FunctionMessage[];
  /** OrderedAcks sequence per input, -1 for QoS 0. */
  readonly seqs: number[];
  /** Inputs counted in the agent's backlog (those for a Running function). */
  counted: number;
}

/**
 * Socket settings for each new connection (a reconnect builds a new socket). Nagle's algorithm
 * goes off (mqtt.js leaves it on): with it on, a small write (a PUBACK) that follows another one
 * still unacknowledged at the TCP level waits for the broker's delayed ACK, ~40 ms per message
 * under a steady QoS 1 stream.
 */
function tuneSocket(client: MqttClient): void {
  const stream = client.stream as
    Partial<{ setNoDelay(on: boolean): void; setMaxListeners(n: number): void }> | undefined;
  stream?.setNoDelay?.(true);
  // mqtt.js waits for 'drain' with one listener per publish written while the socket is full.
  // The agent bounds those itself (UNWRITTEN_HIGH_WATER for QoS 0, the in-flight window for
  // QoS 1), so Node's "possible EventEmitter memory leak" warning at 10 (or 1,000) would only
  // alarm whoever reads a busy device's log.
  stream?.setMaxListeners?.(UNWRITTEN_HIGH_WATER + DEFAULT_MAX_IN_FLIGHT + 64);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

export class Agent {
  readonly #o: AgentOptions;
  readonly #store: ModuleStore;
  readonly #entries = new Map<string, Entry>();
  readonly #subscriptions: FunctionSubscriptions;
  readonly #sensors: SensorRegistry;
  readonly #startedAt = Date.now();
  #client: MqttClient | undefined;
  #acks: OrderedAcks | undefined;
  #moduleTopic: ModuleTopicSource | undefined;
  #desired: DesiredState | undefined;
  /** Inputs handed to running functions and not answered yet (bounded by maxInFlight). */
  #backlog = 0;
  /** Where the agent logs when no `log` option is given (docs/adr/0035), made on first use. */
  #logger: Logger | undefined;
  /** QoS 0 outputs with mqtt.js, not yet written to the socket (see UNWRITTEN_HIGH_WATER). */
  #unwritten = 0;
  #resume: (() => void)[] = [];
  /** Per input topic: the functions it goes to, and the sensor it names (derived once). */
  #targets = new Map<string, Routing>();
  #batches = new Map<ManagedFunction, Batch>();
  #flushQueued = false;
  #heartbeat: NodeJS.Timeout | undefined;
  #statusTimer: NodeJS.Timeout | undefined;
  #reconnects = 0;
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
    tuneSocket(client);
    closeOnOversizedPacket(client, (error) => {
      this.#log('error', `${error.message} from ${brokerForLogs(this.#o.brokerUrl)}; reconnecting`);
    });
    const sender = client as unknown as PacketSender;
    // PUBACKs released while mqtt.js works through one socket read go out together after it
    // (microtasks run once its nextTick chain is done), so they share one write: sent one by one
    // they cost a syscall each, a third of the QoS 1 path.
    let acksDue: number[] = [];
    const sendAcks = (): void => {
      const due = acksDue;
      acksDue = [];
      for (const messageId of due) sender._sendPacket({ cmd: 'puback', messageId, reasonCode: 0 });
    };
    this.#acks = new OrderedAcks((messageId) => {
      if (acksDue.push(messageId) === 1) queueMicrotask(sendAcks);
    });
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
    let first = true;
    client.on('connect', (connack) => {
      tuneSocket(client);
      this.#reconnects = 0;
      client.options.reconnectPeriod = reconnectDelayMs(0);
      this.#log(
        'info',
        `connected to ${connectedNode(client, this.#o.brokerUrl)} (MQTT ${client.options.protocolVersion === 5 ? '5' : '3.1.1'})`,
      );
      const fresh = !connack.sessionPresent;
      const mode = this.#subscriptionMode(client, connack);
      this.#targets.clear(); // which copy a function takes depends on the mode
      this.#subscriptions.connected(this.#subscriptionClient(client), mode, fresh);
      // A session the broker kept holds the desired-state subscription; ask again anyway on the
      // first connection of this process (its previous life may have been an older agent).
      if (fresh || first) {
        this.#subscribeControl(client, desiredTopic(this.#o.nodeId));
        if (this.#o.control) this.#subscribeControl(client, this.#o.control.topic);
      }
      first = false;
      if (fresh) this.#moduleTopic?.resubscribe();
      const owed = this.#drops.flush(this.#outputs.report(), true, Date.now());
      if (owed) this.#log('warn', owed);
      this.#publishStatus();
    });
    let fallingBack = false;
    client.on('close', () => {
      this.#subscriptions.disconnected();
      this.#acks?.reset();
      this.#resumeInputs(); // unwritten outputs no longer hold inputs back
      if (this.#stopping) return;
      client.options.reconnectPeriod = reconnectDelayMs(++this.#reconnects);
      // mqtt.js does not reconnect after a refused CONNACK: after switching to 3.1.1, ask it to.
      if (fallingBack) {
        fallingBack = false;
        setTimeout(() => {
          if (!this.#stopping) client.reconnect();
        }, 10);
      }
    });
    client.on('error', (error) => {
      if (isPacketTooLarge(error)) return; // closeOnOversizedPacket says it
      const code = (error as { code?: number }).code;
      // 132 (MQTT 5) / 1 (3.1.1): unsupported protocol version → speak 3.1.1 from now on.
      if ((code === 132 || code === 1) && client.options.protocolVersion === 5) {
        this.#log('warn', 'the broker does not speak MQTT 5; falling back to 3.1.1');
        client.options.protocolVersion = 4;
        delete client.options.properties;
        if (client.options.will) delete client.options.will.properties;
        fallingBack = true;
        return;
      }
      this.#log('warn', describeConnectionError(error, this.#o));
    });
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
    for (const entry of this.#entries.values())
      if (entry.retiring.includes(filter)) entry.retiring = entry.retiring.filter((f) => f !== filter);
    this.#targets.clear();
  }

  #onPacket(packet: IPublishPacket, callback: (error?: Error) => void): void {
    const { topic } = packet;
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    const acks = this.#acks;
    const ids: CopyIds = packet.properties?.subscriptionIdentifier;
    // Every QoS 1 input gets a ticket, even one nothing handles, so PUBACKs stay in order.
    const seq = packet.qos > 0 && packet.messageId !== undefined && acks ? acks.open(packet.messageId) : -1;
    if (topic.startsWith(`${WIRE_PREFIX}/`)) {
      // A control message is handled from the control subscription's copy; one that only came
      // through a function's `#` filter is a second copy (or one the ACL would not grant).
      if (ids === undefined || carries(ids, CONTROL_SUBSCRIPTION_ID)) {
        if (topic === desiredTopic(this.#o.nodeId)) this.#onDesired(payload);
        else if (topic === this.#o.control?.topic) this.#o.control.onMessage(payload);
        else this.#moduleTopic?.deliver(topic, payload);
      }
    } else {
      this.#dispatch(topic, payload, seq, ids, packet.retain);
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
    if (seq < 0 && this.#inputsMustWait(UNWRITTEN_HIGH_WATER)) this.#resume.push(() => callback(error));
    else callback(error);
  }

  /** QoS 0 inputs wait while calls or unwritten outputs are over their bounds. */
  #inputsMustWait(unwrittenBound: number): boolean {
    return (
      this.#backlog >= (this.#o.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT) ||
      (this.#unwritten >= unwrittenBound && this.#client?.connected === true)
    );
  }

  #resumeInputs(): void {
    if (this.#resume.length > 0 && !this.#inputsMustWait(UNWRITTEN_HIGH_WATER / 2))
      for (const r of this.#resume.splice(0)) r();
  }

  /**
   * Adds one input to the batch of every function subscribed to it. A copy that names the
   * subscriptions it came through goes only to the functions whose designated subscription it
   * names (a retained copy: whose own filter's), so each reading runs each function once.
   */
  #dispatch(topic: string, payload: Uint8Array, seq: number, ids: CopyIds, retained: boolean): void {
    const { targets, sensor } = this.#targets.get(topic) ?? this.#resolveTargets(topic);
    if (targets.length === 0) return;
    const now = Date.now();
    let input: FunctionMessage | undefined;
    let seen = false;
    for (const { fn, route, designatedId, ownId } of targets) {
      const takes = retained ? ownId : designatedId;
      if (ids !== undefined && takes !== undefined && !carries(ids, takes)) continue;
      if (!seen) {
        seen = true;
        const unreported = this.#sensors.seen(topic, now, sensor);
        if (unreported) this.#log('warn', unreported);
      }
      const verdict = checkPayload(payload, route.format, fn.spec.limits.maxPayloadBytes);
      if (!verdict.ok) {
        fn.metrics.recordMalformed(`malformed input on ${topic}: ${verdict.problem}`);
        continue;
      }
      input ??= { topic, payload, timestampMs: now };
      let batch = this.#batches.get(fn);
      if (!batch) {
        batch = { inputs: [], seqs: [], counted: 0 };
        this.#batches.set(fn, batch);
      }
      batch.inputs.push(input);
      batch.seqs.push(seq);
      if (seq >= 0) this.#acks?.hold(seq);
      if (fn.phase === 'Running') {
        batch.counted++;
        this.#backlog++;
      }
    }
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      // mqtt.js handles the packets of one socket read in a chain of process.nextTick calls;
      // microtasks run only once that chain is done, so this flush sees the whole read.
      queueMicrotask(this.#flush);
    }
  }

  #resolveTargets(topic: string): Routing {
    const targets: Target[] = [];
    const matches = (filter: string): boolean => topicMatches(filter, topic);
    for (const entry of this.#entries.values()) {
      const fn = entry.serving;
      const route = fn.routes.find((r) => matches(r.filter));
      if (!route) continue;
      const designated = designatedFilter(
        entry.retiring,
        fn.routes.map((r) => r.filter),
        matches,
      );
      targets.push({
        fn,
        route,
        designatedId: designated === undefined ? undefined : this.#subscriptions.idOf(designated),
        ownId: this.#subscriptions.idOf(route.filter),
      });
    }
    // Bounded: a wildcard filter over an unbounded topic space must not grow this forever.
    if (this.#targets.size >= 4096) this.#targets.clear();
    const routing = { targets, sensor: sensorName(topic) };
    this.#targets.set(topic, routing);
    return routing;
  }

  readonly #flush = (): void => {
    this.#flushQueued = false;
    const batches = this.#batches;
    if (batches.size === 0) return;
    this.#batches = new Map();
    for (const [fn, batch] of batches) {
      const answer = fn.invokeBatch(batch.inputs);
      if (answer instanceof Promise) void answer.then((results) => this.#deliver(fn, batch, results));
      else this.#deliver(fn, batch, answer);
    }
  };

  /** Publishes a batch's outputs; each QoS 1 input is released once its outputs are acknowledged. */
  #deliver(fn: ManagedFunction, batch: Batch, results: readonly InvokeResult[]): void {
    this.#backlog -= batch.counted;
    this.#resumeInputs();
    const client = this.#client;
    const acks = this.#acks;
    for (let i = 0; i < batch.inputs.length; i++) {
      const result = results[i];
      const seq = batch.seqs[i] ?? -1;
      if (result?.ok && client) {
        for (const o of result.outputs) {
          const spec = fn.outputs.find((x) => x.topic === o.topic);
          const options = spec?.publish ?? QOS1;
          const buf = Buffer.from(o.payload.buffer, o.payload.byteOffset, o.payload.byteLength);
          const size = buf.byteLength;
          // The output of a QoS 1 input on a live session always goes out: MQTT's flow control
          // bounds those (the broker sends at most Receive Maximum unacknowledged inputs), and the
          // input is acknowledged only once the output is with the broker. Everything else —
          // outputs made while disconnected, outputs of QoS 0 inputs — is held only up to the
          // bound; beyond it the newest is dropped and counted (ADR 0013). A dropped output of a
          // QoS 1 input loses nothing: its session's acknowledgements are void, and the broker
          // sends the input again.
          const flowControlled = seq >= 0 && client.connected;
          if (!this.#outputs.take(size, flowControlled)) {
            this.#outputDropped(client.connected);
            continue;
          }
          if (seq >= 0 && options.qos === 1 && acks) {
            // Resolves on the broker's PUBACK: only then may the input be acknowledged.
            acks.hold(seq);
            client.publish(o.topic, buf, options, () => {
              this.#outputs.give(size);
              acks.release(seq);
            });
          } else if (options.qos === 0) {
            this.#unwritten++;
            client.publish(o.topic, buf, options, () => {
              this.#outputs.give(size);
              this.#unwritten--;
              this.#resumeInputs();
            });
          } else {
            client.publish(o.topic, buf, options, () => {
              this.#outputs.give(size);
            });
          }
        }
      }
      if (seq >= 0) acks?.release(seq);
    }
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
    const running = [...this.#entries.values()].map((e) => ({
      key: e.serving.key,
      revision: (e.next ?? e.serving).spec.revision,
    }));
    const actions = plan(desired, running);
    const ctx = this.#functionContext();
    const starts: Promise<void>[] = [];
    for (const spec of actions.start) {
      const fn = new ManagedFunction(spec, ctx);
      this.#entries.set(fn.key, { serving: fn, retiring: [] });
      starts.push(fn.start());
    }
    for (const spec of actions.replace) {
      const entry = this.#entries.get(functionKey(spec));
      if (!entry) continue;
      const next = new ManagedFunction(spec, ctx);
      const superseded = entry.next;
      entry.next = next;
      void superseded?.stop();
      starts.push(
        next.start().then(async () => {
          if (entry.next !== next) return;
          // Switch over: new inputs go to the new revision; the old one finishes what it has.
          const old = entry.serving;
          entry.serving = next;
          delete entry.next;
          for (const { filter } of old.routes)
            if (!next.routes.some((r) => r.filter === filter) && !entry.retiring.includes(filter))
              entry.retiring.push(filter);
          this.#syncSubscriptions();
          await old.stop();
        }),
      );
    }
    for (const key of actions.stop) {
      const entry = this.#entries.get(key);
      this.#entries.delete(key);
      void entry?.next?.stop();
      void entry?.serving.stop();
    }
    this.#syncSubscriptions();
    this.#statusChanged();
    return Promise.all(starts).then(async () => {
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
    this.#targets.clear(); // which function serves a topic may have changed
    const wanted = new Map<string, Qos>();
    for (const e of this.#entries.values()) {
      for (const fn of [e.serving, e.next]) {
        for (const r of fn?.routes ?? [])
          wanted.set(r.filter, Math.max(wanted.get(r.filter) ?? 0, r.qos) as Qos);
      }
    }
    this.#subscriptions.want(wanted);
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
    const counts: Record<FunctionThread, number> = { agent: 0, worker: 0 };
    for (const e of this.#entries.values())
      for (const fn of [e.serving, e.next]) if (fn?.thread) counts[fn.thread]++;
    return counts;
  }

  status(): NodeStatus {
    const functions = [...this.#entries.values()].map((e) =>
      (e.next && e.next.phase !== 'Running' ? e.next : e.serving).report(),
    );
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
    for (const r of this.#resume.splice(0)) r();
    await Promise.all(
      [...this.#entries.values()].flatMap((e) =>
        e.next ? [e.serving.stop(), e.next.stop()] : [e.serving.stop()],
      ),
    );
    this.#entries.clear();
  }
}

/** The broker, or with a clustered one the node this connection reached (mqtt.js sets host and port per try). */
function connectedNode(client: MqttClient, brokerUrl: string): string {
  const { servers, protocol, host, port } = client.options;
  return servers && servers.length > 1 ? `${protocol}://${host}:${port}` : brokerForLogs(brokerUrl);
}
