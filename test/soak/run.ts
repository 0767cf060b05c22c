// SPDX-License-Identifier: Apache-2.0
// `npm run soak -- --minutes 60`: the soak suite alone, for as long as asked, through the same
// runner as `npm test` (one real control plane). Samples and the summary land in bench/results/.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { parseArgs } from 'node:util';

const root = path.resolve(import.meta.dirname, '../..');
const { values } = parseArgs({
  options: { minutes: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
});
if (values.help) {
  process.stdout.write(
    'npm run soak -- [--minutes N]   soak for N minutes (default: $WASMFLEET_SOAK_MINUTES, else 60)\n',
  );
  process.exit(0);
}
const minutes = values.minutes ?? process.env.WASMFLEET_SOAK_MINUTES ?? '60';
if (!(Number(minutes) >= 2)) {
  process.stderr.write(`--minutes ${minutes}: give a number of minutes, 2 or more\n`);
  process.exit(2);
}
const child = spawn(process.execPath, [path.join(root, 'scripts/run-tests.ts'), 'test/soak/soak.test.ts'], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, WASMFLEET_SOAK_MINUTES: minutes },
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
