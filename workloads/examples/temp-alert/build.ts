// SPDX-License-Identifier: Apache-2.0
// Builds the temp-alert example from source into build/ (run: node workloads/examples/temp-alert/build.ts).
import path from 'node:path';
import { buildAssemblyScript } from '../../src/toolchain.ts';

const here = import.meta.dirname;
export const artifact = path.join(here, 'build', 'temp-alert.wasm');

export function build(): Promise<string> {
  return buildAssemblyScript({ entry: path.join(here, 'assembly', 'index.ts'), out: artifact });
}

if (import.meta.main) console.log(await build());
