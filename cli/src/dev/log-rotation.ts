// SPDX-License-Identifier: Apache-2.0
// Keeps the detached `dev up` log bounded. The background process writes to the file through
// its stdout/stderr (so a crash's last words land there too); every few seconds, once the file
// is over the limit, it is copied to <file>.1 and truncated in place (logrotate's copytruncate:
// writers open it for appending, so they go on at the new end).
import { copyFile, stat, truncate } from 'node:fs/promises';

export function rotateLogWhenLarger(file: string, maxBytes: number, everyMs = 5_000): { stop(): void } {
  const check = async (): Promise<void> => {
    const { size } = await stat(file);
    if (size <= maxBytes) return;
    await copyFile(file, `${file}.1`);
    await truncate(file, 0);
  };
  const timer = setInterval(() => void check().catch(() => undefined), everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
