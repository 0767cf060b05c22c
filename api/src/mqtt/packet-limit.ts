// SPDX-License-Identifier: Apache-2.0
// A bound on the MQTT packets a client accepts, checked when a packet's length arrives rather than
// after its bytes do. mqtt.js (through mqtt-packet) buffers a whole packet before anyone can look
// at it, and MQTT allows 256 MB: a broker — or whoever holds one — could make any WasmFleet
// process buffer that much per packet. On MQTT 5 the client also tells the broker its bound
// (CONNECT Maximum Packet Size), so a well-behaved broker never sends a larger packet.
import type { IClientOptions, MqttClient } from 'mqtt';
import mqttPacket from 'mqtt-packet';
import { PACKET_LIMITS } from '../wire/limits.ts';

export { PACKET_LIMITS };

const LIMIT = 'wasmfleetMaxPacketBytes';

/** The connection was refused a packet larger than its bound; MQTT 5 reason code 0x95. */
export class PacketTooLargeError extends Error {
  readonly code = 0x95;
  readonly announcedBytes: number;
  readonly maxBytes: number;
  constructor(announcedBytes: number, maxBytes: number) {
    super(
      `the broker sent an MQTT packet of ${announcedBytes} bytes; this client accepts at most ${maxBytes} (the connection is closed before buffering it)`,
    );
    this.name = 'PacketTooLargeError';
    this.announcedBytes = announcedBytes;
    this.maxBytes = maxBytes;
  }
}

/** The parts of mqtt-packet's parser the guard touches (it has no typings for them). */
interface ParserInternals {
  settings?: Record<string, unknown>;
  packet: { length: number };
  _list: { length: number; consume(bytes: number): void };
  _parseLength: (this: ParserInternals) => boolean;
  _emitError(error: Error): void;
  parse(buffer: Buffer): number;
}

let installed = false;

/** Patches mqtt-packet's parser once per process: a packet over the bound ends its connection. */
function install(): void {
  if (installed) return;
  installed = true;
  const proto = Object.getPrototypeOf(mqttPacket.parser()) as ParserInternals;
  const parseLength = proto._parseLength;
  proto._parseLength = function (this: ParserInternals): boolean {
    const done = parseLength.call(this);
    const max = this.settings?.[LIMIT];
    if (!done || typeof max !== 'number' || this.packet.length <= max) return done;
    // Drop what is buffered and everything this connection sends from now on.
    this._list.consume(this._list.length);
    this.parse = () => 0;
    this._emitError(new PacketTooLargeError(this.packet.length, max));
    return false;
  };
}

/** mqtt.js options with a bound on incoming packets (and, on MQTT 5, the broker told of it). */
export function limitPacketSize<T extends IClientOptions>(options: T, maxBytes: number): T {
  install();
  return {
    ...options,
    [LIMIT]: maxBytes,
    ...(options.protocolVersion === 5
      ? { properties: { ...options.properties, maximumPacketSize: maxBytes } }
      : {}),
  };
}

/**
 * Closes the connection (mqtt.js then reconnects, if it does) when a packet over the bound
 * arrives, and hands the error to `onOversize`. Other errors are left to the client's owner.
 */
export function closeOnOversizedPacket(
  client: MqttClient,
  onOversize: (error: PacketTooLargeError) => void,
): void {
  client.on('error', (error) => {
    if (!(error instanceof PacketTooLargeError)) return;
    onOversize(error);
    client.stream.destroy();
  });
}

export function isPacketTooLarge(error: unknown): error is PacketTooLargeError {
  return error instanceof PacketTooLargeError;
}
