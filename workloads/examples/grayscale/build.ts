// SPDX-License-Identifier: Apache-2.0
// Builds the grayscale example from source into build/ (run: node workloads/examples/grayscale/build.ts).
import path from 'node:path';
import { buildC } from '../../src/toolchain.ts';

const here = import.meta.dirname;
export const artifact = path.join(here, 'build', 'grayscale.wasm');

export function build(): Promise<string> {
  return buildC({ sources: ['grayscale.c', 'gray_kernel.c'].map((f) => path.join(here, f)), out: artifact });
}

if (import.meta.main) console.log(await build());
