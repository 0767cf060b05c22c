// SPDX-License-Identifier: Apache-2.0
// Writes crds/*.yaml from the TypeBox schemas in api/src/resources.
//   npm run gen:crds                    regenerate crds/
//   npm run gen:crds -- --check         exit 1, naming each file, when the committed YAML differs
//   npm run gen:crds -- --dir <path>    use another directory instead of crds/
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { crdFiles } from '../src/resources/index.ts';

const root = path.resolve(import.meta.dirname, '..', '..');
const { values } = parseArgs({
  options: { check: { type: 'boolean', default: false }, dir: { type: 'string' } },
});
const dir = values.dir === undefined ? path.join(root, 'crds') : path.resolve(values.dir);
let stale = 0;

for (const file of crdFiles()) {
  const target = path.join(dir, path.basename(file.path));
  const shown = path.relative(process.cwd(), target) || target;
  const current = await readFile(target, 'utf8').catch(() => undefined);
  if (current === file.content) continue;
  if (values.check) {
    stale++;
    console.error(
      `${shown} ${current === undefined ? 'is missing' : 'differs from the schema in api/src/resources'}; run \`npm run gen:crds\` and commit the result`,
    );
  } else {
    await mkdir(dir, { recursive: true });
    await writeFile(target, file.content);
    console.log(`wrote ${shown}`);
  }
}
if (values.check && stale === 0) console.log('crds/ is up to date');
if (stale > 0) process.exitCode = 1;
