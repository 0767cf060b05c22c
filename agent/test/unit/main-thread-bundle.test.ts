// SPDX-License-Identifier: Apache-2.0
// The agent's main thread runs one bundle of its compiled tree (agent/scripts/build.ts; loading
// ~900 separate module files cost an idle agent 15 MB of RSS). Bundling moves every module into
// one file, so `import.meta.url` would name the bundle, and worker modules, createRequire and
// compiled.js would resolve from the wrong place: the build rewrites it to the URL of the
// module's per-file twin. This pins that every such URL names a file the build has.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { it } from 'node:test';
import { BUNDLE_ENTRY, ensureCompiled } from '../../bin/compiled.js';

it('the main-thread bundle resolves import.meta.url of each module to its per-file twin', async () => {
  const root = ensureCompiled();
  assert.ok(root, 'the agent build failed: run `npm run build -w agent` to see why');
  const entry = path.join(root, BUNDLE_ENTRY);
  const dir = path.dirname(entry);
  const files = (await readdir(dir)).filter((f) => f.endsWith('.js'));
  assert.ok(files.includes(path.basename(entry)), `no ${BUNDLE_ENTRY} in ${root}`);
  const twins: string[] = [];
  for (const file of files) {
    const code = await readFile(path.join(dir, file), 'utf8');
    const bare = code.replaceAll(/new URL\("([^"]+)", import\.meta\.url\)/g, (_, twin: string) => {
      twins.push(twin);
      return '';
    });
    // rolldown's own require() for bundled CommonJS: Node built-ins and packages resolve the same
    // from the bundle's directory as from the tree beside it.
    const ours = bare.replace('createRequire(import.meta.url)', '');
    assert.ok(!ours.includes('import.meta.url'), `${file} uses the bundle's own import.meta.url`);
  }
  // The runtimes start their workers and find jco relative to these modules.
  for (const module of ['runtime/core/worker-entry.js', 'runtime/component/component-slot.js']) {
    assert.ok(
      twins.some((t) => t.endsWith(module)),
      `${module} is not in the bundle (${twins.join(', ')})`,
    );
  }
  for (const twin of twins) {
    const file = fileURLToPath(new URL(twin, `file://${dir}/`));
    assert.ok(existsSync(file), `the bundle points at ${twin}, which the build does not have`);
  }
});
