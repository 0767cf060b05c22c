// SPDX-License-Identifier: Apache-2.0
// The real `cosign` the module-signing tests sign OCI artifacts with, built from the Go module
// proxy (test-support/cosign/go.mod) the first time a test asks for it, cached by its inputs.
import { fileURLToPath } from 'node:url';
import type { EnsureOptions } from '@wasmfleet/local-stack';
import { ensurePinnedGoTool } from './pinned-go-tool.ts';

/** The wrapper module that builds `cosign` for the module-signing tests. */
export const COSIGN_MODULE_DIR = fileURLToPath(new URL('../cosign/', import.meta.url));

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
  const b = await ensurePinnedGoTool(
    {
      envVar: 'WASMFLEET_COSIGN',
      moduleDir: COSIGN_MODULE_DIR,
      module: 'github.com/sigstore/cosign/v3',
      binary: 'cosign',
      goPackage: 'github.com/sigstore/cosign/v3/cmd/cosign',
      cacheFolder: 'cosign',
      firstBuild: 'about 3 min on 2 cores',
    },
    options,
  );
  return { cosign: b.path, version: b.version, source: b.source === 'env' ? 'WASMFLEET_COSIGN' : b.source };
}
