// SPDX-License-Identifier: Apache-2.0
// The operator's only link to devices: MQTT. It publishes per-device desired documents and
// module blobs (retained, QoS 1) and listens to every device's retained status. At start it
// reads back the retained documents already on the broker, so a restarted operator knows what
// devices were told and republishes nothing that has not changed.
import { EventEmitter } from 'node:events';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import {
  ALL_STATUS_FILTER,
  brokerForLogs,
  brokerTarget,
  brokerUrls,
  type DesiredState,
  desiredTopic,
  encodeModuleEnvelope,
  moduleTopic,
  nodeOfStatusTopic,
  type NodeStatus,
  parseDesiredState,
  parseNodeStatus,
  WIRE_PREFIX,
} from '@wasmfleet/api';
import { closeOnOversizedPacket, limitPacketSize, PACKET_LIMITS } from '@wasmfleet/api/mqtt';
import { prepareBroker } from '../identity/broker-setup.ts';
import { DYNSEC_RESPONSE_TOPIC, Dynsec } from '../identity/dynsec.ts';
import { unfenced, type WriteFence } from '../kube/fence.ts';
import { InFlight } from './in-flight.ts';
import { untilReachable } from './until-reachable.ts';

const ALL_DESIRED_FILTER = `${WIRE_PREFIX}/nodes/+/desired`;
/**
 * QoS 1 publishes in flight at most (see in-flight.ts). Mosquitto advertises a receive maximum of
 * 20 (max_inflight_messages) but does not enforce it on what clients send; keeping 20 in flight
 * would make publishing a fleet's documents round-trip bound.
 */
export const MAX_IN_FLIGHT = 1_000;

export interface FleetBridgeEvents {
  /** A device's status document (online, heartbeat, or its last will). */
  status: [node: string, status: NodeStatus];
  /**
   * A desired document seen on the broker (ours echoed back, or a predecessor's); `retained` when
   * the broker sent it for a new subscription (what it holds), not forwarded as it was published.
   */
  desired: [doc: DesiredState, retained: boolean];
  /** A message on our topics that did not parse; counted, never fatal. */
  malformed: [topic: string, error: string];
  connection: [state: 'connected' | 'disconnected'];
  /** The broker refused our subscriptions (retried with backoff while the connection lasts). */
  subscriptionRefused: [filters: readonly string[], error: string, retryInMs: number];
  /** The broker granted our subscriptions again after a reconnect (which node, at what QoS). */
  resubscribed: [broker: string, granted: readonly string[]];
}

export interface FleetBridgeOptions {
  readonly url: string;
  readonly clientId?: string;
  readonly username?: string;
  readonly password?: string;
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  /** Quiet time after subscribing that ends the initial retained sync. */
  readonly syncQuietMs?: number;
  readonly syncMaxMs?: number;
  /**
   * Manage per-device identities through Mosquitto's dynamic security plugin (the operator's user
   * must be its admin): the broker is set up first, and `dynsec` sends commands.
   */
  readonly dynamicSecurity?: boolean;
  /** Asked before every publish: a replica that lost its Lease must not touch retained state. */
  readonly fence?: WriteFence;
  /**
   * While the broker cannot be reached (still starting), the first connection is retried with
   * backoff and this is told; without it, the first failure ends the connect.
   */
  readonly onUnreachable?: (error: unknown, retryInMs: number) => void;
  /** Ends that waiting (the operator is stopping). */
  readonly signal?: AbortSignal;
  /**
   * After a reconnect, and after a publish that failed or waited over `slowAckMs` for its PUBACK,
   * the retained desired documents are read again this much later (default 30 s; each new
   * trouble pushes it back, so it reads once the broker is quiet): a clustered broker that lost a
   * node can lose a retained write it acknowledged while it re-elected, and only a fresh read
   * shows what it holds (ADR 0055).
   */
  readonly rereadAfterMs?: number;
  /**
   * A PUBACK slower than this (default 4 s) counts as trouble. nats-server gives up storing a
   * retained message after 5 s and still acknowledges the publish; Mosquitto answers in
   * milliseconds even under a 100,000-device apply, so a read of every document stays rare.
   */
  readonly slowAckMs?: number;
}

export class FleetBridge extends EventEmitter<FleetBridgeEvents> {
  private readonly client: MqttClient;
  private readonly fence: WriteFence;
  private lastMessageAt = 0;
  private readonly inFlight = new InFlight(MAX_IN_FLIGHT);
  /** Dynamic-security commands over this connection, when `dynamicSecurity` is on. */
  readonly dynsec: Dynsec | undefined;

  private readonly filters: readonly string[];
  private connections = 0;
  private readonly timing: { readonly rereadAfterMs: number; readonly slowAckMs: number };
  private reread: NodeJS.Timeout | undefined;
  /**
   * topic → the desired document last published there and its bytes, until the broker echoes it
   * back (the operator subscribes to every desired topic to see other writers). An echo with
   * exactly these bytes is handed on as the object that was published, without parsing and
   * validating it again: at 2,000 devices the echoes were a seventh of apply's CPU (ADR 0045).
   * Entries live for a round trip; a connection loss drops them (echoes then take the slow path).
   */
  private readonly awaitingEcho = new Map<string, { readonly bytes: Buffer; readonly doc: DesiredState }>();

  private constructor(client: MqttClient, options: FleetBridgeOptions, filters: readonly string[]) {
    super();
    this.client = client;
    this.fence = options.fence ?? unfenced;
    this.filters = filters;
    this.timing = { rereadAfterMs: options.rereadAfterMs ?? 30_000, slowAckMs: options.slowAckMs ?? 4_000 };
    const dynsec = options.dynamicSecurity ? new Dynsec(client, undefined, this.fence) : undefined;
    this.dynsec = dynsec;
    client.on('message', (topic, payload, packet) => {
      if (topic === DYNSEC_RESPONSE_TOPIC) {
        dynsec?.handle(payload);
        return;
      }
      this.lastMessageAt = Date.now();
      this.dispatch(topic, payload, packet.retain);
    });
    client.on('connect', () => {
      // A clustered broker refuses a SUBSCRIBE while it elects new leaders for a lost node
      // (nats-server's JetStream consumers time out), so the operator subscribes itself on every
      // connection, and retries (mqtt.js's resubscribe is off: see connect()).
      if (this.connections++ > 0) void this.subscribeAll().then(() => this.scheduleReread());
      this.emit('connection', 'connected');
    });
    // A packet over the bound closes the connection (it reconnects); the operator counts it.
    closeOnOversizedPacket(client, (error) => this.emit('malformed', '(packet)', error.message));
    client.on('close', () => {
      clearTimeout(this.reread);
      dynsec?.close('the connection to the broker closed');
      this.awaitingEcho.clear();
      this.emit('connection', 'disconnected');
    });
  }

  /** Connects, subscribes and waits until the broker's retained documents have arrived. */
  static async connect(
    options: FleetBridgeOptions,
    onEvents?: (bridge: FleetBridge) => void,
  ): Promise<FleetBridge> {
    const clientOptions: IClientOptions = limitPacketSize(
      {
        protocolVersion: 5,
        clientId: options.clientId ?? `wasmfleet-operator-${process.pid}-${Date.now().toString(36)}`,
        clean: true,
        // The bridge subscribes on every connection itself (subscribeAll). With mqtt.js's own
        // resubscribe on, its SUBSCRIBE went first and swallowed a refusal, and the bridge's was
        // never sent: mqtt.js skips filters still on its resubscribe list. A clustered broker
        // refusing the status filter right after a failover then left the operator deaf to every
        // device for good (ADR 0038; the agent turned it off for the same reason).
        resubscribe: false,
        reconnectPeriod: 1000,
        connectTimeout: 10_000,
        ...(options.username ? { username: options.username } : {}),
        ...(options.password ? { password: options.password } : {}),
        ...(options.ca ? { ca: options.ca } : {}),
        ...(options.cert ? { cert: options.cert } : {}),
        ...(options.key ? { key: options.key } : {}),
      },
      PACKET_LIMITS.control,
    );
    const [url = options.url] = brokerUrls(options.url);
    const target = brokerTarget(options.url);
    const reachable = <T>(attempt: () => Promise<T>): Promise<T> =>
      options.onUnreachable
        ? untilReachable(attempt, {
            onWait: options.onUnreachable,
            ...(options.signal ? { signal: options.signal } : {}),
          })
        : attempt();
    if (options.dynamicSecurity) await reachable(() => prepareBroker(url, clientOptions));
    let client: MqttClient;
    try {
      client = await reachable(() => connectOnce({ ...target, ...clientOptions }));
    } catch (error) {
      // Fall back to MQTT 3.1.1 for brokers that speak only that (aedes).
      if (!/protocol|unsupported|version/i.test(String(error))) {
        // The reason goes into the message: it is what the operator's one log line shows.
        const reason = error instanceof Error ? error.message : String(error);
        throw new Error(`cannot connect to the MQTT broker at ${brokerForLogs(options.url)}: ${reason}`, {
          cause: error,
        });
      }
      client = await connectOnce({ ...target, ...clientOptions, protocolVersion: 4 });
    }
    const filters = [
      ALL_DESIRED_FILTER,
      ALL_STATUS_FILTER,
      ...(options.dynamicSecurity ? [DYNSEC_RESPONSE_TOPIC] : []),
    ];
    const bridge = new FleetBridge(client, options, filters);
    bridge.connections = 1;
    onEvents?.(bridge);
    await bridge.subscribeAll();
    await bridge.quiet(options.syncQuietMs ?? 300, options.syncMaxMs ?? 10_000);
    return bridge;
  }

  /**
   * Subscribes to every filter, again after a refusal (500 ms doubling to 30 s) until the broker
   * grants them or the connection drops (the next connection subscribes anew).
   */
  private async subscribeAll(): Promise<void> {
    for (let attempt = 0; this.client.connected; attempt++) {
      try {
        const granted = await this.client.subscribeAsync([...this.filters], { qos: 1 });
        const { host, port } = this.client.options;
        if (this.connections > 1)
          this.emit(
            'resubscribed',
            `${host ?? '?'}:${port ?? '?'}`,
            granted.map((g) => `${g.topic} (QoS ${g.qos})`),
          );
        return;
      } catch (error) {
        const retryInMs = Math.min(30_000, 500 * 2 ** attempt);
        this.emit('subscriptionRefused', this.filters, String(error), retryInMs);
        await new Promise((resolve) => setTimeout(resolve, retryInMs));
      }
    }
  }

  /**
   * Subscribes to the desired documents once more a while after a reconnect or a troubled
   * publish: the broker sends what it retains again (flagged retained), and the books republish
   * a document it holds older than one it acknowledged (NodeDocuments.observeRetained).
   */
  private scheduleReread(): void {
    clearTimeout(this.reread);
    this.reread = setTimeout(() => {
      if (!this.client.connected) return;
      // Refused or cut off: the connection is going, and the next one reads everything anyway.
      this.client.subscribeAsync(ALL_DESIRED_FILTER, { qos: 1 }).catch(() => undefined);
    }, this.timing.rereadAfterMs);
    this.reread.unref();
  }

  get connected(): boolean {
    return this.client.connected;
  }

  async publishDesired(doc: DesiredState): Promise<void> {
    this.fence.check(`publishing the desired state of ${doc.node}`);
    const topic = desiredTopic(doc.node);
    const bytes = Buffer.from(JSON.stringify(doc));
    this.awaitingEcho.set(topic, { bytes, doc });
    await this.publish(topic, bytes);
  }

  /** Removes a device's desired document (the device was deleted). */
  async clearDesired(node: string): Promise<void> {
    this.fence.check(`clearing the desired state of ${node}`);
    this.awaitingEcho.delete(desiredTopic(node));
    await this.publish(desiredTopic(node), '');
  }

  async publishModule(sha256: string, bytes: Uint8Array): Promise<void> {
    this.fence.check(`publishing module ${sha256}`);
    const envelope = encodeModuleEnvelope(
      { sha256, size: bytes.length, mediaType: 'application/wasm' },
      bytes,
    );
    await this.publish(moduleTopic(sha256), Buffer.from(envelope));
  }

  /** An empty retained message deletes the retained blob from the broker. */
  async clearModule(sha256: string): Promise<void> {
    this.fence.check(`clearing module ${sha256}`);
    await this.publish(moduleTopic(sha256), '');
  }

  /**
   * Retained, QoS 1, within the in-flight bound. A refused or slow publish means the broker is in
   * trouble, and a clustered one in trouble may acknowledge a retained write it did not store: on
   * a 3-node nats-server that lost a node, the retry of a timed-out document was acknowledged,
   * its device got it live, and the survivors kept the older one (ADR 0055, 2026-12-07).
   */
  private publish(topic: string, payload: string | Buffer): Promise<unknown> {
    return this.inFlight.run(() => {
      const slow = setTimeout(() => this.scheduleReread(), this.timing.slowAckMs);
      slow.unref();
      return this.client.publishAsync(topic, payload, { qos: 1, retain: true }).then(
        (packet) => {
          clearTimeout(slow);
          return packet;
        },
        (error: unknown) => {
          clearTimeout(slow);
          this.scheduleReread();
          throw error;
        },
      );
    });
  }

  async close(): Promise<void> {
    clearTimeout(this.reread);
    await this.client.endAsync();
  }

  private dispatch(topic: string, payload: Buffer, retained: boolean): void {
    const node = nodeOfStatusTopic(topic);
    if (payload.length === 0) return; // a cleared retained message
    if (node !== undefined) {
      const parsed = parseNodeStatus(payload);
      if (parsed.ok && parsed.value.node === node) this.emit('status', node, parsed.value);
      else
        this.emit(
          'malformed',
          topic,
          parsed.ok ? `status for ${parsed.value.node} on ${node}'s topic` : parsed.errors.join('; '),
        );
      return;
    }
    if (topic.endsWith('/desired')) {
      const sent = this.awaitingEcho.get(topic);
      if (sent?.bytes.equals(payload)) {
        this.awaitingEcho.delete(topic);
        this.emit('desired', sent.doc, retained);
        return;
      }
      const parsed = parseDesiredState(payload);
      if (parsed.ok) this.emit('desired', parsed.value, retained);
      else this.emit('malformed', topic, parsed.errors.join('; '));
    }
  }

  private async quiet(quietMs: number, maxMs: number): Promise<void> {
    const started = Date.now();
    this.lastMessageAt = started;
    while (Date.now() - this.lastMessageAt < quietMs && Date.now() - started < maxMs) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(50, quietMs)));
    }
  }
}

/**
 * mqtt.js's connectAsync without retries, given options instead of a URL string (a string is
 * parsed with url.parse(), for which Node prints a deprecation warning, DEP0169, in `dev up`).
 * Its JavaScript takes options as the first argument; its typings only name the string form.
 */
function connectOnce(options: IClientOptions): Promise<MqttClient> {
  const connectAsync = mqtt.connectAsync as (
    o: IClientOptions,
    unused: undefined,
    allowRetries: boolean,
  ) => Promise<MqttClient>;
  return connectAsync(options, undefined, false);
}
