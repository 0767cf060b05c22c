// SPDX-License-Identifier: Apache-2.0
// Serves the agent's /metrics on plain node:http, only when --metrics-address is given: a device
// should not open a port nobody asked for. Bind it to 127.0.0.1 (the default host) unless a
// scraper on the network needs it.
import type { AddressInfo } from 'node:net';
import { liveHeapBytes, type NodeStatus } from '@wasmfleet/api';
import type { FunctionThread } from '../runtime/types.ts';
import { renderAgentMetrics } from './prometheus.ts';

export interface MetricsServer {
  readonly url: string;
  close(): Promise<void>;
}

export async function serveAgentMetrics(
  address: { readonly host: string; readonly port: number },
  status: () => NodeStatus,
  threads?: () => Readonly<Record<FunctionThread, number>>,
): Promise<MetricsServer> {
  liveHeapBytes(); // start observing collections now, so the first scrape has a figure
  // Loaded here, not imported at the top: an agent that serves no metrics never loads node:http
  // (~2 MB of RSS; through Node's ESM view of it, which also loads undici, ~12 MB; docs/adr/0019).
  const { createServer } = process.getBuiltinModule('node:http');
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('only /metrics is served\n');
      return;
    }
    const body = renderAgentMetrics(
      { ...process.memoryUsage(), heapLive: liveHeapBytes() },
      status(),
      threads?.(),
    );
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(body);
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) =>
      reject(
        new Error(
          `cannot serve metrics on ${address.host}:${address.port}: ${error.message}; pick a free port with --metrics-address`,
          { cause: error },
        ),
      ),
    );
    server.listen(address.port, address.host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  return {
    url: `http://${host}:${port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
