#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// wasmfleet-agent as it should run on a device: from compiled JavaScript (docs/adr/0017), so no
// thread of the agent pays for Node's type stripping (~17 MB in the main thread alone). The
// program is wasmfleet-agent.ts; this launcher runs its build of the current sources (made on the
// spot when missing, see compiled.js) and falls back to the .ts program when it cannot be built.
// Plain JavaScript on purpose: loading any .ts file here would cost what the build saves.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { BUNDLE_ENTRY, ensureCompiled } from './compiled.js';

const dir = ensureCompiled();
if (dir) {
  await import(pathToFileURL(path.join(dir, BUNDLE_ENTRY)).href);
} else {
  process.emitWarning(
    'the agent runs from its TypeScript sources (more memory); run `npm run build -w agent` to see why the build fails',
    { code: 'WASMFLEET_AGENT_TS' },
  );
  await import('./wasmfleet-agent.ts');
}
