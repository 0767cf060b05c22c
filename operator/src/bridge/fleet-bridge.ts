// SPDX-License-Identifier: Apache-2.0
// The operator's only link to devices: MQTT. It publishes per-device desired documents and
// module blobs (retained, QoS 1) and listens to every device's retained status. At start it
// reads back the retained documents already on the broker, so a restarted operator knows what
// devices were told and republishes nothing that has not changed.
import { EventEmitter } from 'node:events';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import {
  ALL_STATUS_FILTER,
  WIRE_PREFIX,
  desiredTopic,
  encodeModuleEnvelope,
  moduleTopic,
  nodeOfStatusTopic,
  parseDesiredState,
  parseNodeStatus,
  type DesiredState,
  type NodeStatus,
} from '@wasmfleet/api';
import { prepareBroker } from '../identity/broker-setup.ts';
import { DYNSEC_RESPONSE_TOPIC, Dynsec } from '../identity/dynsec.ts';
import { unfenced, type WriteFence } from '../kube/fence.ts';

const ALL_DESIRED_FILTER = `${WIRE_PREFIX}/nodes/+/desired`;

export interface FleetBridgeEvents {
  /** A device's status document (online, heartbeat, or its last will). */
  status: [node: string, status: NodeStatus];
  /** A retained desired document seen on the broker (ours echoed back, or a predecessor's). */
  desired: [doc: DesiredState];
  /** A message on our topics that did not parse; counted, never fatal. */
  malformed: [topic: string, error: string];
  connection: [state: 'connected' | 'disconnected'];
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
}

export class FleetBridge extends EventEmitter<FleetBridgeEvents> {
  private readonly client: MqttClient;
  private readonly fence: WriteFence;
  private lastMessageAt = 0;
  /** Dynamic-security commands over this connection, when `dynamicSecurity` is on. */
  readonly dynsec: Dynsec | undefined;

  private constructor(client: MqttClient, dynamicSecurity: boolean, fence: WriteFence) {
    super();
    this.client = client;
    this.fence = fence;
    const dynsec = dynamicSecurity ? new Dynsec(client, undefined, fence) : undefined;
    this.dynsec = dynsec;
    client.on('message', (topic, payload) => {
      if (topic === DYNSEC_RESPONSE_TOPIC) {
        dynsec?.handle(payload);
        return;
      }
      this.lastMessageAt = Date.now();
      this.dispatch(topic, payload);
    });
    client.on('connect', () => this.emit('connection', 'connected'));
    client.on('close', () => {
      dynsec?.close('the connection to the broker closed');
      this.emit('connection', 'disconnected');
    });
  }

  /** Connects, subscribes and waits until the broker's retained documents have arrived. */
  static async connect(
    options: FleetBridgeOptions,
    onEvents?: (bridge: FleetBridge) => void,
  ): Promise<FleetBridge> {
    const clientOptions: IClientOptions = {
      protocolVersion: 5,
      clientId: options.clientId ?? `wasmfleet-operator-${process.pid}-${Date.now().toString(36)}`,
      clean: true,
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      ...(options.username ? { username: options.username } : {}),
      ...(options.password ? { password: options.password } : {}),
      ...(options.ca ? { ca: options.ca } : {}),
      ...(options.cert ? { cert: options.cert } : {}),
      ...(options.key ? { key: options.key } : {}),
    };
    if (options.dynamicSecurity) await prepareBroker(options.url, clientOptions);
    let client: MqttClient;
    try {
      client = await mqtt.connectAsync(options.url, clientOptions, false);
    } catch (error) {
      // Fall back to MQTT 3.1.1 for brokers that speak only that (aedes).
      if (!/protocol|unsupported|version/i.test(String(error))) {
        throw new Error(`cannot connect to the MQTT broker at ${options.url}`, { cause: error });
      }
      client = await mqtt.connectAsync(options.url, { ...clientOptions, protocolVersion: 4 }, false);
    }
    const bridge = new FleetBridge(client, options.dynamicSecurity ?? false, options.fence ?? unfenced);
    onEvents?.(bridge);
    await client.subscribeAsync(
      [ALL_DESIRED_FILTER, ALL_STATUS_FILTER, ...(options.dynamicSecurity ? [DYNSEC_RESPONSE_TOPIC] : [])],
      { qos: 1 },
    );
    await bridge.quiet(options.syncQuietMs ?? 300, options.syncMaxMs ?? 10_000);
    return bridge;
  }

  get connected(): boolean {
    return this.client.connected;
  }

  async publishDesired(doc: DesiredState): Promise<void> {
    this.fence.check(`publishing the desired state of ${doc.node}`);
    await this.client.publishAsync(desiredTopic(doc.node), JSON.stringify(doc), { qos: 1, retain: true });
  }

  /** Removes a device's desired document (the device was deleted). */
  async clearDesired(node: string): Promise<void> {
    this.fence.check(`clearing the desired state of ${node}`);
    await this.client.publishAsync(desiredTopic(node), '', { qos: 1, retain: true });
  }

  async publishModule(sha256: string, bytes: Uint8Array): Promise<void> {
    this.fence.check(`publishing module ${sha256}`);
    const envelope = encodeModuleEnvelope(
      { sha256, size: bytes.length, mediaType: 'application/wasm' },
      bytes,
    );
    await this.client.publishAsync(moduleTopic(sha256), Buffer.from(envelope), { qos: 1, retain: true });
  }

  /** An empty retained message deletes the retained blob from the broker. */
  async clearModule(sha256: string): Promise<void> {
    this.fence.check(`clearing module ${sha256}`);
    await this.client.publishAsync(moduleTopic(sha256), '', { qos: 1, retain: true });
  }

  async close(): Promise<void> {
    await this.client.endAsync();
  }

  private dispatch(topic: string, payload: Buffer): void {
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
      const parsed = parseDesiredState(payload);
      if (parsed.ok) this.emit('desired', parsed.value);
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
