// A node:test reporter that writes one JSON line per test file: its path and how long the
// file's process took, from the file-level `test:complete` event the runner emits when the
// file's process ends (named after the file, nesting 0). scripts/run-tests.ts reads it to
// print the slowest files and to start the longest first next time (file-times.ts).
import path from 'node:path';

interface TestEvent {
  type: string;
  data?: { file?: string; name?: string; nesting?: number; details?: { duration_ms?: number } };
}

export default async function* fileTimesReporter(source: AsyncIterable<TestEvent>): AsyncGenerator<string> {
  for await (const event of source) {
    const data = event.data;
    if (event.type !== 'test:complete' || data?.file === undefined || data.nesting !== 0) continue;
    if (data.name !== path.basename(data.file) || data.details?.duration_ms === undefined) continue;
    yield `${JSON.stringify({ file: data.file, seconds: Number((data.details.duration_ms / 1000).toFixed(1)) })}\n`;
  }
}
