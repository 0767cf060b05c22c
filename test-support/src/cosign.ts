// SPDX-License-Identifier: Apache-2.0
// The real `cosign` the module-signing tests sign OCI artifacts with, built from the Go module
// proxy (test-support/cosign/go.mod) the first time a test asks for it, cached by its inputs.
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheRoot, ensureGoTools, wrapperPins, type EnsureOptions } from '@wasmfleet/local-stack';

/** The wrapper module that builds `cosign` for the module-signing tests. */
export const COSIGN_MODULE_DIR = fileURLToPath(new URL('../cosign/', import.meta.url));
const COSIGN_TOOL = { binary: 'cosign', goPackage: 'github.com/sigstore/cosign/v3/cmd/cosign' } as const;

export interface CosignBinary {
  /** Absolute path of the cosign executable. */
  readonly cosign: string;
  /** The github.com/sigstore/cosign/v3 module version it was built from ('unknown' for WASMFLEET_COSIGN). */
  readonly version: string;
  readonly source: 'WASMFLEET_COSIGN' | 'cache' | 'built';
}

/**
 * Finds or builds cosign. WASMFLEET_COSIGN=/path/to/cosign uses one you already have (its major
 * version must be the pinned one: the tests assert on what it writes).
 */
export async function ensureCosignBinary(options: EnsureOptions = {}): Promise<CosignBinary> {
  const own = process.env.WASMFLEET_COSIGN;
  if (own) {
    await access(own, constants.X_OK).catch((cause: unknown) => {
      throw new Error(
        `WASMFLEET_COSIGN=${own} is not an executable cosign; unset it to build cosign from the Go module proxy`,
        { cause },
      );
    });
    return { cosign: own, version: 'unknown', source: 'WASMFLEET_COSIGN' };
  }
  const pins = await wrapperPins(COSIGN_MODULE_DIR, ['github.com/sigstore/cosign/v3']);
  const version = pins.version('github.com/sigstore/cosign/v3');
  const dir = path.join(cacheRoot(), 'cosign', `cosign-${version}-${pins.digest}`);
  const source = await ensureGoTools(
    { moduleDir: COSIGN_MODULE_DIR, tools: [COSIGN_TOOL], dir, firstBuild: 'about 3 min on 2 cores' },
    options,
  );
  return { cosign: path.join(dir, COSIGN_TOOL.binary), version, source };
}
