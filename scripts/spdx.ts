// SPDX-License-Identifier: Apache-2.0
// Every tracked source file starts with an SPDX line (after a shebang): `node scripts/spdx.ts`
// adds it where it is missing, `--check` (in `npm run check`) names the files without it.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

const LINE = 'SPDX-License-Identifier: Apache-2.0';
const COMMENT: Record<string, string> = {
  ts: '//',
  js: '//',
  mjs: '//',
  rs: '//',
  c: '//',
  h: '//',
  go: '//',
  sh: '#',
};

const check = process.argv.includes('--check');
const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
  encoding: 'utf8',
})
  .split('\0')
  // Vendored crates (agent-native/vendor/) keep their upstream files as published.
  .filter(
    (f) => f !== '' && !f.includes('/generated/') && !f.includes('node_modules/') && !f.includes('/vendor/'),
  );
const missing: string[] = [];
for (const file of files) {
  const prefix = COMMENT[file.slice(file.lastIndexOf('.') + 1)];
  if (prefix === undefined) continue;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    continue; // deleted in the worktree, not yet in the index
  }
  if (text.slice(0, 400).includes('SPDX-License-Identifier')) continue;
  missing.push(file);
  if (check) continue;
  const line = `${prefix} ${LINE}\n`;
  const shebang = text.startsWith('#!') ? text.slice(0, text.indexOf('\n') + 1) : '';
  writeFileSync(file, shebang + line + text.slice(shebang.length));
}
if (check && missing.length > 0) {
  process.stderr.write(
    `${missing.length} source files have no SPDX line (run \`node scripts/spdx.ts\` to add it):\n${missing.map((f) => `  ${f}`).join('\n')}\n`,
  );
  process.exit(1);
}
if (!check) process.stdout.write(`added the SPDX line to ${missing.length} files\n`);
