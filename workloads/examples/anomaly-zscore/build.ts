// SPDX-License-Identifier: Apache-2.0
// Builds the anomaly-zscore example from source into build/ (run: node workloads/examples/anomaly-zscore/build.ts).
import path from 'node:path';
import { buildC } from '../../src/toolchain.ts';

const here = import.meta.dirname;
export const artifact = path.join(here, 'build', 'anomaly.wasm');

export function build(): Promise<string> {
  return buildC({ sources: [path.join(here, 'anomaly.c')], out: artifact });
}

if (import.meta.main) console.log(await build());
