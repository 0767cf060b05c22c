// SPDX-License-Identifier: Apache-2.0
// Lays out one release directory: the launcher and supervisor (bin/), the Node runtime and the
// compiled agent (lib/), the release's public key, the systemd unit and an example settings file
// (share/). The tarball holds this directory; the .deb installs it as /usr/lib/wasmfleet-agent.
import { chmod, copyFile, cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { NodeRuntime } from './node-runtime.ts';

export const FILES_DIR = path.join(import.meta.dirname, 'files');
/** The bundle the launcher runs, inside lib/app (the layout of agent/dist/<build id>/). */
const BUNDLE = 'agent/bundle/wasmfleet-agent.js';

export interface ReleaseTreeInput {
  /** agent/dist/<build id>: the compiled per-file tree and the main-thread bundle. */
  readonly compiledDir: string;
  readonly runtime: NodeRuntime;
  readonly version: string;
  /** The release key's public half, installed as a trusted key for upgrades. */
  readonly releaseKey: { readonly id: string; readonly pem: string };
}

export async function writeReleaseTree(root: string, input: ReleaseTreeInput): Promise<void> {
  await mkdir(path.join(root, 'bin'), { recursive: true });
  for (const tool of ['wasmfleet-agent', 'wasmfleet-agent-supervise']) {
    await copyFile(path.join(FILES_DIR, tool), path.join(root, 'bin', tool));
    await chmod(path.join(root, 'bin', tool), 0o755);
  }
  const lib = path.join(root, 'lib');
  await mkdir(lib, { recursive: true });
  await copyFile(path.join(input.runtime.dir, 'node'), path.join(lib, 'node'));
  await chmod(path.join(lib, 'node'), 0o755);
  const app = path.join(lib, 'app');
  await cp(input.compiledDir, app, { recursive: true });
  // The compiled files are ES modules; without this Node would have to guess, file by file.
  await writeFile(path.join(app, 'package.json'), `${JSON.stringify({ type: 'module' })}\n`);
  await stampVersion(path.join(app, BUNDLE), input.version);

  const share = path.join(root, 'share');
  await mkdir(path.join(share, 'release-keys'), { recursive: true });
  await writeFile(path.join(share, 'release-keys', `${input.releaseKey.id}.pub`), input.releaseKey.pem);
  await mkdir(path.join(share, 'systemd'), { recursive: true });
  await copyFile(
    path.join(FILES_DIR, 'wasmfleet-agent.service'),
    path.join(share, 'systemd', 'wasmfleet-agent.service'),
  );
  await copyFile(path.join(FILES_DIR, 'agent.env.example'), path.join(share, 'agent.env.example'));
  await copyFile(path.join(input.runtime.dir, 'LICENSE'), path.join(share, 'node-LICENSE'));
  await writeFile(path.join(root, 'VERSION'), `${input.version}\n`);
}

/**
 * Puts the release's version into the bundle, where the agent reads it for --version, its status
 * and the upgrade check (agent/src/version.ts). The build must hold exactly one such constant and
 * no copy of its value elsewhere: a bundler that inlined it into a comparison left the upgrader
 * thinking a 0.3.2 build was 0.3.0, so it upgraded again during its own trial and was rolled back.
 */
async function stampVersion(bundle: string, version: string): Promise<void> {
  const code = await readFile(bundle, 'utf8');
  const pattern = /const AGENT_VERSION = ("[^"]*");/g;
  const found = [...code.matchAll(pattern)];
  if (found.length !== 1)
    throw new Error(
      `${bundle}: expected one \`const AGENT_VERSION = "…"\` to stamp the release version into, found ${found.length}; see agent/src/version.ts`,
    );
  const literal = found[0]?.[1] ?? '';
  const copies = code.split(literal).length - 2;
  if (copies > 0)
    throw new Error(
      `${bundle}: the version ${literal} also appears ${copies} time(s) outside its constant (inlined by the bundler?); stamping would leave those behind — build the bundle without const inlining (agent/scripts/build.ts)`,
    );
  await writeFile(bundle, code.replace(pattern, `const AGENT_VERSION = ${JSON.stringify(version)};`));
}
