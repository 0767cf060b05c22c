// SPDX-License-Identifier: Apache-2.0
// Builds the checksum-go example from source into build/ (run: node workloads/examples/checksum-go/build.ts).
import path from 'node:path';
import { buildGo } from '../../src/toolchain.ts';

const here = import.meta.dirname;
export const artifact = path.join(here, 'build', 'checksum.wasm');

export function build(): Promise<string> {
  return buildGo({ dir: here, out: artifact });
}

if (import.meta.main) console.log(await build());
