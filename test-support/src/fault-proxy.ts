// SPDX-License-Identifier: Apache-2.0
// A fault-injecting TCP proxy on 127.0.0.1, for fault tests where network namespaces cannot be
// created (not root): the device connects to the proxy instead of the broker.
//
//   'pass'       bytes flow both ways
//   'blackhole'  bytes are held, not delivered, and no error is raised: like a partition, TCP
//                sees silence. New connections are accepted but not carried to the target until
//                the mode changes (as a SYN that is never answered). Held bytes are delivered in
//                order when the link returns, as TCP's retransmissions would.
//   latencyMs    every chunk is delayed by that long
// reset() sends a TCP RST to every connection (both sides), as a crashing middlebox would.
import { connect, createServer, type Socket } from 'node:net';

export type LinkMode = 'pass' | 'blackhole' | { readonly latencyMs: number };

export interface FaultProxy {
  readonly port: number;
  /** `127.0.0.1:<port>`, to build a URL from. */
  readonly address: string;
  readonly mode: LinkMode;
  setMode(mode: LinkMode): void;
  /** RST on every open connection, both sides. */
  reset(): void;
  /** Connections carried so far. */
  readonly connections: number;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

interface Pair {
  readonly client: Socket;
  upstream: Socket | undefined;
  /** Chunks held while blackholed, per direction, in order. */
  readonly held: { toTarget: Buffer[]; toClient: Buffer[] };
}

export async function startFaultProxy(target: { host: string; port: number }): Promise<FaultProxy> {
  let mode: LinkMode = 'pass';
  let connections = 0;
  const pairs = new Set<Pair>();

  const forward = (pair: Pair, direction: 'toTarget' | 'toClient', chunk: Buffer): void => {
    const to = direction === 'toTarget' ? pair.upstream : pair.client;
    if (mode === 'blackhole' || !to) {
      pair.held[direction].push(chunk);
      return;
    }
    if (mode === 'pass') to.write(chunk);
    else
      setTimeout(() => {
        if (!to.destroyed) to.write(chunk);
      }, mode.latencyMs);
  };

  const openUpstream = (pair: Pair): void => {
    if (pair.upstream || pair.client.destroyed) return;
    const upstream = connect(target);
    pair.upstream = upstream;
    connections++;
    upstream.on('data', (chunk: Buffer) => {
      forward(pair, 'toClient', chunk);
    });
    const close = (): void => {
      pairs.delete(pair);
      pair.client.destroy();
      upstream.destroy();
    };
    upstream.on('error', close);
    upstream.on('close', close);
    flush(pair);
  };

  const flush = (pair: Pair): void => {
    for (const direction of ['toTarget', 'toClient'] as const) {
      const chunks = pair.held[direction].splice(0);
      for (const chunk of chunks) forward(pair, direction, chunk);
    }
  };

  const server = createServer((client) => {
    const pair: Pair = { client, upstream: undefined, held: { toTarget: [], toClient: [] } };
    pairs.add(pair);
    client.on('data', (chunk: Buffer) => {
      forward(pair, 'toTarget', chunk);
    });
    const close = (): void => {
      pairs.delete(pair);
      pair.upstream?.destroy();
      client.destroy();
    };
    client.on('error', close);
    client.on('close', close);
    if (mode !== 'blackhole') openUpstream(pair);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  if (address === null || typeof address !== 'object') throw new Error('the fault proxy has no port');

  const close = async (): Promise<void> => {
    for (const pair of pairs) {
      pair.client.destroy();
      pair.upstream?.destroy();
    }
    pairs.clear();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return {
    port: address.port,
    address: `127.0.0.1:${address.port}`,
    get mode() {
      return mode;
    },
    get connections() {
      return connections;
    },
    setMode(next) {
      mode = next;
      if (next === 'blackhole') return;
      for (const pair of pairs) {
        if (pair.upstream) flush(pair);
        else openUpstream(pair);
      }
    },
    reset() {
      for (const pair of pairs) {
        pair.client.resetAndDestroy();
        pair.upstream?.resetAndDestroy();
      }
      pairs.clear();
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
