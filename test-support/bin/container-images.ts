// SPDX-License-Identifier: Apache-2.0
// Builds (or loads from ~/.cache/wasmfleet) the images the container tier runs, printing how
// long each took and its size:
//   node test-support/bin/container-images.ts                 # node base, operator, agent, mosquitto, kind node, native agent
//   node test-support/bin/container-images.ts operator agent  # some of them
//   node test-support/bin/container-images.ts --tag e2e       # the tag of the operator and agent images (native too)
import { parseArgs } from 'node:util';
import { ensureContainerImages, IMAGE_NAMES, type ImageName } from '../src/images/index.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { tag: { type: 'string', default: 'e2e' } },
});
const unknown = positionals.filter((p) => !(IMAGE_NAMES as readonly string[]).includes(p));
if (unknown.length > 0) {
  console.error(`error: unknown image ${unknown.join(', ')}; choose from ${IMAGE_NAMES.join(', ')}`);
  process.exit(2);
}
const wanted = (positionals.length > 0 ? positionals : IMAGE_NAMES) as ImageName[];
try {
  const images = await ensureContainerImages(wanted, {
    tag: values.tag,
    progress: (line) => console.error(`  ${line}`),
  });
  for (const image of images) {
    console.log(
      `${image.tag}\t${image.source}\t${image.seconds.toFixed(0)} s\t${(image.size / 1e6).toFixed(0)} MB`,
    );
  }
} catch (error) {
  console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
