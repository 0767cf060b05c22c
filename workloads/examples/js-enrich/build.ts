// SPDX-License-Identifier: Apache-2.0
// Builds the js-enrich example from source into build/ (run: node workloads/examples/js-enrich/build.ts).
import path from 'node:path';
import { buildJsComponent } from '../../src/toolchain.ts';

const here = import.meta.dirname;
export const artifact = path.join(here, 'build', 'js-enrich.wasm');

export function build(): Promise<string> {
  return buildJsComponent({ source: path.join(here, 'function.js'), out: artifact });
}

if (import.meta.main) console.log(await build());
