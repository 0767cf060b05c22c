// SPDX-License-Identifier: Apache-2.0
// A hostile MQTT "broker" for the packet-size regressions: it accepts any client (CONNACK,
// SUBACK, PINGRESP), then starts a PUBLISH that announces 256 MB and streams it for as long as the
// client keeps reading. A client that checks the announced length closes the connection after the
// first bytes; one that buffers whole packets takes them all.
import { createServer, type Socket } from 'node:net';
import mqttPacket from 'mqtt-packet';

/** MQTT's largest Remaining Length: 256 MB - 1. */
export const MAX_REMAINING_LENGTH = 268_435_455;

export interface OversizedPacketBroker {
  readonly url: string;
  readonly port: number;
  /** Per connection so far: bytes of the oversized packet written before the client closed it. */
  readonly connections: readonly { readonly bytesSent: number; readonly closed: boolean }[];
  /** Resolves once a client has closed a connection on which the oversized packet started. */
  readonly firstClosed: Promise<{ bytesSent: number }>;
  dispose(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface OversizedPacketBrokerOptions {
  /** Start the packet once the client has subscribed (what the operator and CLI wait for), or right after CONNACK. */
  readonly after?: 'connack' | 'subscribe';
  readonly announcedBytes?: number;
}

function fixedHeader(remainingLength: number): Buffer {
  const bytes = [0x30]; // PUBLISH, QoS 0
  let rest = remainingLength;
  do {
    let b = rest % 128;
    rest = Math.floor(rest / 128);
    if (rest > 0) b |= 0x80;
    bytes.push(b);
  } while (rest > 0);
  return Buffer.from(bytes);
}

export async function startOversizedPacketBroker(
  options: OversizedPacketBrokerOptions = {},
): Promise<OversizedPacketBroker> {
  const announced = options.announcedBytes ?? MAX_REMAINING_LENGTH;
  const connections: { bytesSent: number; closed: boolean }[] = [];
  const sockets = new Set<Socket>();
  let reportClosed: (r: { bytesSent: number }) => void = () => undefined;
  const firstClosed = new Promise<{ bytesSent: number }>((resolve) => (reportClosed = resolve));

  const flood = (socket: Socket, version: number): void => {
    const record = { bytesSent: 0, closed: false };
    connections.push(record);
    const topic = Buffer.from('sensors/flood');
    // Topic length, topic, (MQTT 5) an empty property list, then the payload that never ends.
    const head = Buffer.concat([
      fixedHeader(announced),
      Buffer.from([topic.length >> 8, topic.length & 0xff]),
      topic,
      ...(version === 5 ? [Buffer.from([0])] : []),
    ]);
    const chunk = Buffer.alloc(1024 * 1024);
    let left = announced - (head.length - fixedHeader(announced).length);
    socket.write(head);
    const pump = (): void => {
      while (left > 0 && !socket.destroyed) {
        const part = left >= chunk.length ? chunk : chunk.subarray(0, left);
        left -= part.length;
        record.bytesSent += part.length;
        if (!socket.write(part)) {
          socket.once('drain', pump);
          return;
        }
      }
    };
    socket.once('close', () => {
      record.closed = true;
      reportClosed({ bytesSent: record.bytesSent });
    });
    pump();
  };

  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    // mqtt-packet's parser takes the protocol version from the CONNECT it reads.
    const parser = mqttPacket.parser();
    let version = 4;
    let flooding = false;
    const start = (): void => {
      if (flooding) return;
      flooding = true;
      flood(socket, version);
    };
    const onPacket = (packet: mqttPacket.Packet): void => {
      if (packet.cmd === 'connect') {
        version = packet.protocolVersion ?? 4;
        socket.write(
          mqttPacket.generate(
            { cmd: 'connack', returnCode: 0, reasonCode: 0, sessionPresent: false },
            { protocolVersion: version },
          ),
        );
        if (options.after !== 'subscribe') start();
      } else if (packet.cmd === 'subscribe') {
        socket.write(
          mqttPacket.generate(
            { cmd: 'suback', messageId: packet.messageId, granted: packet.subscriptions.map((s) => s.qos) },
            { protocolVersion: version },
          ),
        );
        if (options.after === 'subscribe') start();
      } else if (packet.cmd === 'pingreq') {
        socket.write(mqttPacket.generate({ cmd: 'pingresp' }));
      }
    };
    parser.on('packet', onPacket);
    socket.on('data', (data) => parser.parse(data));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const dispose = async (): Promise<void> => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    connections,
    firstClosed,
    dispose,
    [Symbol.asyncDispose]: dispose,
  };
}
