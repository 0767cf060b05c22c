// SPDX-License-Identifier: Apache-2.0
// aedes — the embedded broker of `wasmfleet dev up` — in this process on a free loopback port,
// for tests that must hold on it as on Mosquitto (it speaks MQTT 3.1.1 only).
import { createServer } from 'node:net';
import { Aedes } from 'aedes';

export interface AedesBroker {
  /** `mqtt://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  /** Closes the listener, every client connection and the broker. */
  dispose(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export async function startAedes(): Promise<AedesBroker> {
  const aedes = await Aedes.createBroker();
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
  return { url: `mqtt://127.0.0.1:${port}`, port, dispose, [Symbol.asyncDispose]: dispose };
}
