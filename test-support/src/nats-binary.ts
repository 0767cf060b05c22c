// SPDX-License-Identifier: Apache-2.0
// The real `nats-server` (MQTT 3.1.1 over JetStream), the third broker of the MQTT tests beside
// Mosquitto and aedes, built from the Go module proxy (test-support/nats/go.mod) the first time a
// test asks for it, cached by its inputs.
import { fileURLToPath } from 'node:url';
import type { EnsureOptions } from '@wasmfleet/local-stack';
import { ensurePinnedGoTool } from './pinned-go-tool.ts';

/** The wrapper module that builds `nats-server`. */
export const NATS_MODULE_DIR = fileURLToPath(new URL('../nats/', import.meta.url));

export interface NatsServerBinary {
  /** Absolute path of the nats-server executable. */
  readonly natsServer: string;
  /** The github.com/nats-io/nats-server/v2 module version it was built from ('unknown' for WASMFLEET_NATS_SERVER). */
  readonly version: string;
  readonly source: 'WASMFLEET_NATS_SERVER' | 'cache' | 'built';
}

/** Finds or builds nats-server. WASMFLEET_NATS_SERVER=/path/to/nats-server uses one you already have. */
export async function ensureNatsServerBinary(options: EnsureOptions = {}): Promise<NatsServerBinary> {
  const b = await ensurePinnedGoTool(
    {
      envVar: 'WASMFLEET_NATS_SERVER',
      moduleDir: NATS_MODULE_DIR,
      module: 'github.com/nats-io/nats-server/v2',
      binary: 'nats-server',
      goPackage: 'github.com/nats-io/nats-server/v2',
      cacheFolder: 'nats',
      firstBuild: 'about 2 min on 2 cores',
    },
    options,
  );
  return {
    natsServer: b.path,
    version: b.version,
    source: b.source === 'env' ? 'WASMFLEET_NATS_SERVER' : b.source,
  };
}
