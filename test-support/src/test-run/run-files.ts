// SPDX-License-Identifier: Apache-2.0
// Runs test files in the order given, N at a time, with the reporters scripts/run-tests.ts
// reads: spec on stdout, TAP and per-file times into files. `node --test a b` sorts its files
// by name whatever order they come in; run({ files }) keeps it, so the longest can go first
// (file-times.ts, docs/adr/0030).
//   node run-files.ts CONCURRENCY TAP_FILE TIMES_FILE FILE…
import { createWriteStream, writeFileSync } from 'node:fs';
import { run } from 'node:test';
import { spec, tap } from 'node:test/reporters';
import path from 'node:path';
import { fileTime } from './file-times.ts';

const [concurrency, tapFile, timesFile, ...files] = process.argv.slice(2);
if (!concurrency || !tapFile || !timesFile || files.length === 0) {
  console.error('usage: run-files.ts CONCURRENCY TAP_FILE TIMES_FILE FILE…');
  process.exit(2);
}

const stream = run({ files: files.map((f) => path.resolve(f)), concurrency: Number(concurrency) });
stream.on('test:fail', () => {
  process.exitCode = 1;
});
// Listened to, not composed: a third consumer of the stream got no events.
const lines: string[] = [];
stream.on('test:complete', (test) => {
  const time = fileTime(test);
  if (time) lines.push(JSON.stringify(time));
});
process.on('exit', () => {
  writeFileSync(timesFile, lines.map((l) => `${l}\n`).join(''));
});
stream.compose<NodeJS.ReadableStream>(new spec()).pipe(process.stdout);
stream.compose(tap).pipe(createWriteStream(tapFile));
