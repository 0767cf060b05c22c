// SPDX-License-Identifier: Apache-2.0
// A tool only tests use, built from a wrapper Go module pinned in test-support (cosign, nats-server)
// the first time a test asks for it and cached by its inputs; an environment variable names one
// the user already has instead.
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import path from 'node:path';
import {
  cacheRoot,
  ensureGoTools,
  STRIPPED_SUFFIX,
  wrapperPins,
  type EnsureOptions,
} from '@wasmfleet/local-stack';

export interface PinnedGoTool {
  /** Environment variable pointing at an executable the user already has. */
  readonly envVar: string;
  readonly moduleDir: string;
  /** The Go module whose pinned version names the cache folder. */
  readonly module: string;
  readonly binary: string;
  readonly goPackage: string;
  /** The folder under ~/.cache/wasmfleet its builds are kept in. */
  readonly cacheFolder: string;
  /** How long a first build takes, for the progress line. */
  readonly firstBuild: string;
}

export interface PinnedGoToolBinary {
  readonly path: string;
  /** The module version it was built from ('unknown' for one named by envVar). */
  readonly version: string;
  readonly source: 'env' | 'cache' | 'built';
}

export async function ensurePinnedGoTool(
  tool: PinnedGoTool,
  options: EnsureOptions = {},
): Promise<PinnedGoToolBinary> {
  const own = process.env[tool.envVar];
  if (own) {
    await access(own, constants.X_OK).catch((cause: unknown) => {
      throw new Error(
        `${tool.envVar}=${own} is not an executable ${tool.binary}; unset it to build ${tool.binary} from the Go module proxy`,
        { cause },
      );
    });
    return { path: own, version: 'unknown', source: 'env' };
  }
  const pins = await wrapperPins(tool.moduleDir, [tool.module]);
  const version = pins.version(tool.module);
  const dir = path.join(
    cacheRoot(),
    tool.cacheFolder,
    `${tool.binary}-${version}-${pins.digest}${STRIPPED_SUFFIX}`,
  );
  const source = await ensureGoTools(
    {
      moduleDir: tool.moduleDir,
      tools: [{ binary: tool.binary, goPackage: tool.goPackage }],
      dir,
      firstBuild: tool.firstBuild,
    },
    options,
  );
  return { path: path.join(dir, tool.binary), version, source };
}
