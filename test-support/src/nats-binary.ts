// SPDX-License-Identifier: Apache-2.0
// The real `nats-server` (MQTT 3.1.1 over JetStream), the third broker of the MQTT tests beside
// Mosquitto and aedes, built from the Go module proxy (test-support/nats/go.mod) the first time a
// test asks for it, cached by its inputs.
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheRoot, ensureGoTools, wrapperPins, type EnsureOptions } from '@wasmfleet/local-stack';

/** The wrapper module that builds `nats-server`. */
export const NATS_MODULE_DIR = fileURLToPath(new URL('../nats/', import.meta.url));
const NATS_TOOL = { binary: 'nats-server', goPackage: 'github.com/nats-io/nats-server/v2' } as const;

export interface NatsServerBinary {
  /** Absolute path of the nats-server executable. */
  readonly natsServer: string;
  /** The github.com/nats-io/nats-server/v2 module version it was built from ('unknown' for WASMFLEET_NATS_SERVER). */
  readonly version: string;
  readonly source: 'WASMFLEET_NATS_SERVER' | 'cache' | 'built';
}

/** Finds or builds nats-server. WASMFLEET_NATS_SERVER=/path/to/nats-server uses one you already have. */
export async function ensureNatsServerBinary(options: EnsureOptions = {}): Promise<NatsServerBinary> {
  const own = process.env.WASMFLEET_NATS_SERVER;
  if (own) {
    await access(own, constants.X_OK).catch((cause: unknown) => {
      throw new Error(
        `WASMFLEET_NATS_SERVER=${own} is not an executable nats-server; unset it to build nats-server from the Go module proxy`,
        { cause },
      );
    });
    return { natsServer: own, version: 'unknown', source: 'WASMFLEET_NATS_SERVER' };
  }
  const pins = await wrapperPins(NATS_MODULE_DIR, ['github.com/nats-io/nats-server/v2']);
  const version = pins.version('github.com/nats-io/nats-server/v2');
  const dir = path.join(cacheRoot(), 'nats', `nats-server-${version}-${pins.digest}`);
  const source = await ensureGoTools(
    { moduleDir: NATS_MODULE_DIR, tools: [NATS_TOOL], dir, firstBuild: 'about 2 min on 2 cores' },
    options,
  );
  return { natsServer: path.join(dir, NATS_TOOL.binary), version, source };
}
