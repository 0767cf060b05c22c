// SPDX-License-Identifier: Apache-2.0
// Prints where a Kubernetes tool of the local stack is, building it first when it is missing
// (progress goes to stderr). Used by scripts/setup and the .tools/bin wrappers it writes.
//   node local-stack/bin/tool-path.ts control-plane   # the directory of kube-apiserver + etcd
//   node local-stack/bin/tool-path.ts kubectl|helm     # the executable
//   node local-stack/bin/tool-path.ts kubectl --cached # the path it has or will have; builds nothing
// Imports only Node built-ins (through binaries.ts), so it runs before `npm ci`.
import {
  cachedHelmPath,
  cachedKubectlPath,
  ensureApiServerBinaries,
  ensureHelmBinary,
  ensureKubectlBinary,
} from '../src/binaries.ts';

const [tool, flag] = process.argv.slice(2);
const progress = (line: string): void => void process.stderr.write(`  ${line}\n`);
const TOOLS: Readonly<Record<string, () => Promise<string>>> = {
  'control-plane': async () => (await ensureApiServerBinaries({ progress })).dir,
  kubectl: async () =>
    flag === '--cached' ? cachedKubectlPath() : (await ensureKubectlBinary({ progress })).kubectl,
  helm: async () => (flag === '--cached' ? cachedHelmPath() : (await ensureHelmBinary({ progress })).helm),
};
const find = tool === undefined ? undefined : TOOLS[tool];
if (!find) {
  process.stderr.write(`usage: tool-path.ts ${Object.keys(TOOLS).join('|')} [--cached]\n`);
  process.exit(2);
}
try {
  process.stdout.write(`${await find()}\n`);
} catch (error) {
  process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
