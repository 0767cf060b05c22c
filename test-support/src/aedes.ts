// SPDX-License-Identifier: Apache-2.0
// aedes — the embedded broker of `wasmfleet dev up`, with its fix (local-stack/src/aedes-broker.ts) — in this process on a free loopback port,
// for tests that must hold on it as on Mosquitto (it speaks MQTT 3.1.1 only).
import { createServer } from 'node:net';
import type { Aedes } from 'aedes';
import { createAedes } from '@wasmfleet/local-stack';

export interface AedesBroker {
  /** `mqtt://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  /** Drops every client connection (clients reconnect); the broker keeps running. */
  dropClients(): void;
  /** Closes the listener, every client connection and the broker. */
  dispose(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

interface AedesOptions {
  /** Decides each subscription (aedes' hook): call back with a null subscription to refuse it (SUBACK 0x80). */
  readonly authorizeSubscribe?: Aedes['authorizeSubscribe'];
}

export async function startAedes(options: AedesOptions = {}): Promise<AedesBroker> {
  const aedes = await createAedes(
    options.authorizeSubscribe ? { authorizeSubscribe: options.authorizeSubscribe } : {},
  );
  const server = createServer(aedes.handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const dispose = async (): Promise<void> => {
    // aedes.close() ends the client connections, so the listener can close.
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  const dropClients = (): void => {
    // Not in aedes' typings, but its documented broker state: connected clients by id.
    const { clients } = aedes as unknown as { clients: Record<string, { close(): void }> };
    for (const client of Object.values(clients)) client.close();
  };
  return { url: `mqtt://127.0.0.1:${port}`, port, dropClients, dispose, [Symbol.asyncDispose]: dispose };
}
