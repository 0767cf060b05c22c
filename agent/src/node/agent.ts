// The edge agent: keeps an MQTT session, converges on the node's retained desired state (also
// from its on-disk copy, so a reboot without a broker restarts the last functions), feeds
// sensor messages to functions and publishes their outputs, and reports status and heartbeats.
import { arch, platform } from 'node:os';
import path from 'node:path';
import mqtt, { type IPublishPacket, type MqttClient } from 'mqtt';
import {
  desiredTopic,
  functionKey,
  logTopic,
  parseDesiredState,
  statusTopic,
  topicMatches,
  WIRE_PREFIX,
  type DesiredState,
  type LogLine,
  type NodeStatus,
} from '@wasmfleet/api';
import { checkPayload } from '../io/payload-check.ts';
import { OrderedAcks } from '../mqtt/ordered-acks.ts';
import {
  clientOptions,
  offlineStatus,
  reconnectDelayMs,
  type SessionSettings,
} from '../mqtt/session-options.ts';
import { readIfExists, writeFileAtomic } from '../persist/atomic-file.ts';
import { plan } from '../reconcile/plan.ts';
import { loadFunction } from '../runtime/load-function.ts';
import type { FunctionOutput, LoadFunction, LogLevel } from '../runtime/types.ts';
import { httpSource } from '../store/fetch-module.ts';
import { ModuleStore } from '../store/module-store.ts';
import { ManagedFunction, type FunctionContext } from './managed-function.ts';
import { ModuleTopicSource } from './module-topic-source.ts';

export const AGENT_VERSION = '0.1.0';

export interface AgentOptions extends SessionSettings {
  readonly dataDir: string;
  readonly heartbeatSeconds?: number;
  /** Sensors this node reports; others are learned from the input topics it sees. */
  readonly sensors?: readonly string[];
  readonly maxFunctions?: number;
  readonly maxStoreBytes?: number;
  /** Unacknowledged inputs in flight before the agent stops reading from the broker. */
  readonly maxInFlight?: number;
  /** The agent's own diagnostics (stderr by default). */
  readonly log?: (level: LogLevel, text: string) => void;
  readonly load?: LoadFunction;
}

/** mqtt.js skips its own PUBACK when handleMessage calls back with an error (see ordered-acks.ts). */
const DEFER_ACK = new Error('ack deferred until the outputs are with the broker');
type PacketSender = { _sendPacket(packet: { cmd: 'puback'; messageId: number; reasonCode: number }): void };

interface Entry {
  serving: ManagedFunction;
  /** A new revision starting up; it takes over once Running (or Failed). */
  next?: ManagedFunction;
}

export class Agent {
  readonly #o: AgentOptions;
  readonly #store: ModuleStore;
  readonly #entries = new Map<string, Entry>();
  readonly #subscribed = new Map<string, 0 | 1>();
  readonly #sensorsSeen = new Map<string, { topic: string; lastSeen: number }>();
  readonly #startedAt = Date.now();
  #client: MqttClient | undefined;
  #acks: OrderedAcks | undefined;
  #moduleTopic: ModuleTopicSource | undefined;
  #desired: DesiredState | undefined;
  #inFlight = 0;
  #resume: (() => void)[] = [];
  #heartbeat: NodeJS.Timeout | undefined;
  #statusTimer: NodeJS.Timeout | undefined;
  #reconnects = 0;
  #stopping = false;
  #reconciling: Promise<void> = Promise.resolve();

  constructor(options: AgentOptions) {
    this.#o = options;
    this.#store = new ModuleStore({
      dir: options.dataDir,
      ...(options.maxStoreBytes ? { maxTotalBytes: options.maxStoreBytes } : {}),
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

  #log(level: LogLevel, text: string): void {
    (this.#o.log ?? ((l, t) => process.stderr.write(`${new Date().toISOString()} ${l} ${t}\n`)))(level, text);
  }

  // ----------------------------------------------------------------------------- MQTT session

  #connect(): void {
    const client = mqtt.connect(this.#o.brokerUrl, clientOptions(this.#o));
    this.#client = client;
    const sender = client as unknown as PacketSender;
    this.#acks = new OrderedAcks((messageId) => {
      sender._sendPacket({ cmd: 'puback', messageId, reasonCode: 0 });
    });
    this.#moduleTopic = new ModuleTopicSource({
      subscribe: (t) => client.subscribe(t, { qos: 1 }),
      unsubscribe: (t) => client.unsubscribe(t),
      get connected() {
        return client.connected;
      },
    });
    client.handleMessage = (packet, callback) => {
      this.#onPacket(packet, callback);
    };
    client.on('connect', () => {
      this.#reconnects = 0;
      client.options.reconnectPeriod = reconnectDelayMs(0);
      this.#log(
        'info',
        `connected to ${this.#o.brokerUrl} (MQTT ${client.options.protocolVersion === 5 ? '5' : '3.1.1'})`,
      );
      client.subscribe(desiredTopic(this.#o.nodeId), { qos: 1 });
      for (const [filter, qos] of this.#subscribed) client.subscribe(filter, { qos });
      this.#publishStatus();
    });
    client.on('close', () => {
      this.#acks?.reset();
      if (this.#stopping) return;
      client.options.reconnectPeriod = reconnectDelayMs(++this.#reconnects);
    });
    client.on('error', (error) => {
      const code = (error as { code?: number }).code;
      // 132 (MQTT 5) / 1 (3.1.1): unsupported protocol version → speak 3.1.1 from now on.
      if ((code === 132 || code === 1) && client.options.protocolVersion === 5) {
        this.#log('warn', 'the broker does not speak MQTT 5; falling back to 3.1.1');
        client.options.protocolVersion = 4;
        delete client.options.properties;
        return;
      }
      this.#log('warn', `MQTT: ${error.message}`);
    });
  }

  #onPacket(packet: IPublishPacket, callback: (error?: Error) => void): void {
    const { topic } = packet;
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    if (topic.startsWith(`${WIRE_PREFIX}/`)) {
      if (topic === desiredTopic(this.#o.nodeId)) this.#onDesired(payload);
      else this.#moduleTopic?.deliver(topic, payload);
      callback();
      return;
    }
    const ticket =
      packet.qos > 0 && packet.messageId !== undefined ? this.#acks?.open(packet.messageId) : undefined;
    this.#inFlight++;
    const finish = (): void => {
      this.#inFlight--;
      if (ticket && this.#acks) this.#acks.complete(ticket);
      if (this.#inFlight < (this.#o.maxInFlight ?? 2048)) for (const r of this.#resume.splice(0)) r();
    };
    const work = this.#dispatch(topic, payload);
    if (work) void work.then(finish, finish);
    else finish();
    const next = (): void => {
      callback(ticket ? DEFER_ACK : undefined);
    };
    // Backpressure: stop reading from the socket while too many inputs are unfinished.
    if (this.#inFlight >= (this.#o.maxInFlight ?? 2048)) this.#resume.push(next);
    else next();
  }

  /** Feeds one input to every function subscribed to it; resolves when outputs are handed over. */
  #dispatch(topic: string, payload: Uint8Array): Promise<unknown> | undefined {
    let pending: Promise<unknown>[] | undefined;
    const timestampMs = Date.now();
    for (const entry of this.#entries.values()) {
      const fn = entry.serving;
      const route = fn.routes.find((r) => topicMatches(r.filter, topic));
      if (!route) continue;
      this.#learnSensor(topic);
      const verdict = checkPayload(payload, route.format, fn.spec.limits.maxPayloadBytes);
      if (!verdict.ok) {
        fn.metrics.recordMalformed(`malformed input on ${topic}: ${verdict.problem}`);
        continue;
      }
      const work = fn
        .invoke({ topic, payload, timestampMs })
        .then((result) => (result.ok ? this.#publishOutputs(fn, result.outputs) : undefined));
      (pending ??= []).push(work);
    }
    if (!pending) return undefined;
    return pending.length === 1 ? pending[0] : Promise.all(pending);
  }

  #publishOutputs(fn: ManagedFunction, outputs: readonly FunctionOutput[]): Promise<unknown> | undefined {
    const client = this.#client;
    if (!client || outputs.length === 0) return undefined;
    return Promise.all(
      outputs.map(
        (o) =>
          new Promise<void>((resolve) => {
            const spec = fn.outputs.find((x) => x.topic === o.topic);
            const buf = Buffer.from(o.payload.buffer, o.payload.byteOffset, o.payload.byteLength);
            // QoS 1: resolves on the broker's PUBACK; QoS 0: once written to the socket.
            client.publish(o.topic, buf, { qos: spec?.qos ?? 1, retain: spec?.retain ?? false }, () => {
              resolve();
            });
          }),
      ),
    );
  }

  #learnSensor(topic: string): void {
    const name = topic.split('/').at(-1) ?? topic;
    this.#sensorsSeen.set(name, { topic, lastSeen: Date.now() });
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

  #reconcile(): Promise<void> {
    this.#reconciling = this.#reconciling
      .then(() => this.#reconcileOnce())
      .catch((error: unknown) => {
        this.#log('error', `reconcile failed: ${String(error)}`);
      });
    return this.#reconciling;
  }

  async #reconcileOnce(): Promise<void> {
    if (this.#stopping) return;
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
      this.#entries.set(fn.key, { serving: fn });
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
    await Promise.all(starts);
    const referenced = new Set(desired.map((f) => f.module.sha256));
    await this.#store.gc(referenced).catch(() => []);
    this.#statusChanged();
  }

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
      load: this.#o.load ?? loadFunction,
      log: (fn, level, text) => this.#functionLog(fn, level, text),
      changed: () => this.#statusChanged(),
    };
  }

  #syncSubscriptions(): void {
    const wanted = new Map<string, 0 | 1>();
    for (const e of this.#entries.values()) {
      for (const fn of [e.serving, e.next]) {
        for (const r of fn?.routes ?? [])
          wanted.set(r.filter, Math.max(wanted.get(r.filter) ?? 0, r.qos) as 0 | 1);
      }
    }
    const client = this.#client;
    for (const [filter, qos] of wanted) {
      if (this.#subscribed.get(filter) === qos) continue;
      this.#subscribed.set(filter, qos);
      if (client?.connected) client.subscribe(filter, { qos });
    }
    for (const filter of [...this.#subscribed.keys()]) {
      if (wanted.has(filter)) continue;
      this.#subscribed.delete(filter);
      if (client?.connected) client.unsubscribe(filter);
    }
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

  #statusChanged(): void {
    // Coalesce bursts of phase changes into one retained status message.
    this.#statusTimer ??= setTimeout(() => {
      this.#statusTimer = undefined;
      this.#publishStatus();
    }, 50);
  }

  status(): NodeStatus {
    const functions = [...this.#entries.values()].map((e) =>
      (e.next && e.next.phase !== 'Running' ? e.next : e.serving).report(),
    );
    const sensors = new Map<string, { name: string; topic?: string; lastSeen?: string }>();
    for (const name of this.#o.sensors ?? []) sensors.set(name, { name });
    for (const [name, s] of this.#sensorsSeen)
      sensors.set(name, { name, topic: s.topic, lastSeen: new Date(s.lastSeen).toISOString() });
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
      sensors: [...sensors.values()].slice(0, 128),
      capacity: {
        maxFunctions: this.#o.maxFunctions ?? 64,
        memoryBytes: (this.#o.maxFunctions ?? 64) * 16 * 1024 * 1024,
        runtimes: ['core'],
      },
      functions,
    };
  }

  #publishStatus(): void {
    const client = this.#client;
    if (!client?.connected || this.#stopping) return;
    client.publish(statusTopic(this.#o.nodeId), JSON.stringify(this.status()), { qos: 1, retain: true });
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    clearInterval(this.#heartbeat);
    clearTimeout(this.#statusTimer);
    await this.#reconciling;
    const client = this.#client;
    if (client?.connected) {
      await new Promise<void>((resolve) => {
        client.publish(
          statusTopic(this.#o.nodeId),
          JSON.stringify(offlineStatus(this.#o.nodeId)),
          { qos: 1, retain: true },
          () => {
            resolve();
          },
        );
      });
    }
    await client?.endAsync();
    await Promise.all(
      [...this.#entries.values()].flatMap((e) =>
        e.next ? [e.serving.stop(), e.next.stop()] : [e.serving.stop()],
      ),
    );
    this.#entries.clear();
  }
}
