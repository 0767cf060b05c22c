// SPDX-License-Identifier: Apache-2.0
// One MQTT 3.1.1 connection carrying simulated devices, written with raw packets (mqtt-packet) so
// thousands fit in one process. With one device per link it is a real device connection: its own
// client id, session and last will (the broker publishes the offline document when the link
// drops). Beyond the machine's file-descriptor limit several devices share a link; their last
// will is then simulated by publishing the offline document (see `goOffline`).
import { connect, type Socket } from 'node:net';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { desiredTopic, statusTopic } from '@wasmfleet/api';
import { applyDesired, offlineDocument, statusDocument, type SimDevice } from './device-state.ts';

export interface LinkOptions {
  readonly host: string;
  readonly port: number;
  readonly localAddress?: string;
  readonly clientId: string;
  readonly heartbeatSeconds: number;
  readonly keepaliveSeconds: number;
}

export interface LinkStats {
  statusPublished: number;
  desiredReceived: number;
  bytesOut: number;
  bytesIn: number;
  reconnects: number;
}

const SUBSCRIBE_BATCH = 100;

export class DeviceLink {
  readonly devices: readonly SimDevice[];
  readonly #byDesiredTopic = new Map<string, SimDevice>();
  readonly #o: LinkOptions;
  readonly #stats: LinkStats;
  #socket: Socket | undefined;
  #nextId = 1;
  #beat: NodeJS.Timeout | undefined;
  #ping: NodeJS.Timeout | undefined;
  #lastSent = 0;
  #closed = false;
  #cursor = 0;

  constructor(devices: readonly SimDevice[], options: LinkOptions, stats: LinkStats) {
    this.devices = devices;
    this.#o = options;
    this.#stats = stats;
    for (const d of devices) this.#byDesiredTopic.set(desiredTopic(d.node), d);
  }

  /** Connects, subscribes every device's desired topic and announces them; resolves on CONNACK. */
  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = connect({
        host: this.#o.host,
        port: this.#o.port,
        ...(this.#o.localAddress ? { localAddress: this.#o.localAddress } : {}),
      });
      socket.setNoDelay(true);
      this.#socket = socket;
      const parser = mqttPacket.parser({ protocolVersion: 4 });
      let acked = false;
      parser.on('packet', (packet: Packet) => {
        if (packet.cmd === 'connack') {
          acked = true;
          if (packet.returnCode !== 0) {
            reject(new Error(`${this.#o.clientId}: CONNACK ${packet.returnCode}`));
            return;
          }
          this.#afterConnect();
          resolve();
        } else if (packet.cmd === 'publish') this.#onPublish(packet);
      });
      parser.on('error', (error: Error) => socket.destroy(error));
      socket.on('data', (chunk: Buffer) => {
        this.#stats.bytesIn += chunk.length;
        parser.parse(chunk);
      });
      socket.on('error', (error) => {
        if (!acked) reject(error);
      });
      socket.on('close', () => this.#onClose(acked));
      this.#send({
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 4,
        clean: true,
        clientId: this.#o.clientId,
        keepalive: this.#o.keepaliveSeconds,
        ...(this.devices.length === 1 && this.devices[0]
          ? {
              will: {
                topic: statusTopic(this.devices[0].node),
                payload: Buffer.from(JSON.stringify(offlineDocument(this.devices[0].node))),
                qos: 1,
                retain: true,
              },
            }
          : {}),
      });
    });
  }

  /** Drops the connection without DISCONNECT: the broker publishes the link's last will. */
  drop(): void {
    this.#stop();
    this.#socket?.destroy();
  }

  /** Stops for good (no reconnect). */
  close(): void {
    this.#closed = true;
    this.drop();
  }

  /**
   * Takes devices offline. Alone on its link, a device's link is dropped (a real last will);
   * sharing one, it publishes the offline document its last will would carry and stops beating.
   */
  goOffline(devices: readonly SimDevice[]): void {
    if (this.devices.length === 1) {
      for (const d of devices) d.online = false;
      this.drop();
      return;
    }
    for (const d of devices) {
      d.online = false;
      this.#publishJson(statusTopic(d.node), offlineDocument(d.node));
    }
  }

  /** Brings devices back: a dropped link reconnects; shared ones announce themselves again. */
  async goOnline(devices: readonly SimDevice[]): Promise<void> {
    for (const d of devices) d.online = true;
    if (this.#socket?.destroyed) {
      this.#stats.reconnects++;
      await this.open();
      return;
    }
    for (const d of devices) this.#publishStatus(d);
  }

  #afterConnect(): void {
    const topics = [...this.#byDesiredTopic.keys()];
    for (let i = 0; i < topics.length; i += SUBSCRIBE_BATCH) {
      this.#send({
        cmd: 'subscribe',
        messageId: this.#id(),
        subscriptions: topics.slice(i, i + SUBSCRIBE_BATCH).map((topic) => ({ topic, qos: 1 })),
      });
    }
    for (const d of this.devices) if (d.online) this.#publishStatus(d);
    // Each device beats once per interval, spread evenly over it.
    const every = (this.#o.heartbeatSeconds * 1000) / this.devices.length;
    const first = Math.random() * every;
    this.#beat = setTimeout(() => {
      this.#beat = setInterval(() => this.#heartbeat(), every);
    }, first);
    this.#ping = setInterval(
      () => {
        if (Date.now() - this.#lastSent > (this.#o.keepaliveSeconds * 1000) / 2)
          this.#send({ cmd: 'pingreq' });
      },
      (this.#o.keepaliveSeconds * 1000) / 4,
    );
  }

  #heartbeat(): void {
    const device = this.devices[this.#cursor];
    this.#cursor = (this.#cursor + 1) % this.devices.length;
    if (device?.online) this.#publishStatus(device);
  }

  #onPublish(packet: Extract<Packet, { cmd: 'publish' }>): void {
    if (packet.qos > 0 && packet.messageId !== undefined)
      this.#send({ cmd: 'puback', messageId: packet.messageId });
    const device = this.#byDesiredTopic.get(packet.topic);
    if (!device) return;
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    if (!applyDesired(device, payload, new Date())) return;
    this.#stats.desiredReceived++;
    if (device.online) this.#publishStatus(device);
  }

  #publishStatus(device: SimDevice): void {
    this.#stats.statusPublished++;
    this.#publishJson(statusTopic(device.node), statusDocument(device, this.#o.heartbeatSeconds, new Date()));
  }

  #publishJson(topic: string, doc: unknown): void {
    this.#send({
      cmd: 'publish',
      topic,
      payload: Buffer.from(JSON.stringify(doc)),
      qos: 1,
      retain: true,
      dup: false,
      messageId: this.#id(),
    });
  }

  #id(): number {
    const id = this.#nextId;
    this.#nextId = id === 65_535 ? 1 : id + 1;
    return id;
  }

  #send(packet: Packet): void {
    const socket = this.#socket;
    if (!socket || socket.destroyed) return;
    const bytes = mqttPacket.generate(packet);
    this.#stats.bytesOut += bytes.length;
    this.#lastSent = Date.now();
    socket.write(bytes);
  }

  #stop(): void {
    clearTimeout(this.#beat);
    clearInterval(this.#beat);
    clearInterval(this.#ping);
  }

  #onClose(wasConnected: boolean): void {
    this.#stop();
    // A broker that went away (a cluster node killed) is left for another one, as a device would.
    if (this.#closed || !wasConnected || !this.devices.some((d) => d.online)) return;
    this.#reconnect(500);
  }

  #reconnect(delayMs: number): void {
    this.#stats.reconnects++;
    setTimeout(
      () => {
        if (this.#closed) return;
        this.open().catch(() => this.#reconnect(Math.min(10_000, delayMs * 2)));
      },
      delayMs * (1 + Math.random()),
    );
  }
}
