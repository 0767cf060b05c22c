// SPDX-License-Identifier: Apache-2.0
// The embedded MQTT broker of `wasmfleet dev up`: aedes, in process, on loopback. It speaks
// MQTT 3.1.1 only; the agent and the operator fall back to it (docs/mqtt-contract.md).
import { createServer, type Server } from 'node:net';
import { createAedes } from './aedes-broker.ts';

export interface EmbeddedBroker {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function startEmbeddedBroker(port: number): Promise<EmbeddedBroker> {
  const aedes = await createAedes();
  const server: Server = createServer(aedes.handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(
              `port ${port} is already in use; pass --broker-port 0 for a free one, or --broker URL to use a running broker`,
              { cause: error },
            )
          : error,
      ),
    );
    server.listen(port, '127.0.0.1', resolve);
  });
  const address = server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  return {
    url: `mqtt://127.0.0.1:${bound}`,
    port: bound,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
    },
  };
}
