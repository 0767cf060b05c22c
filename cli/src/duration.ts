// SPDX-License-Identifier: Apache-2.0
// Duration flags (--timeout 5m, --since 1h, --window 2s) in the same Go-style syntax the CRDs use.
import { parseDuration } from '@wasmfleet/api';
import { UserError } from './errors.ts';

export function durationFlag(flag: string, text: string): number {
  const ms = parseDuration(text.trim());
  if (ms === undefined || ms <= 0) {
    throw new UserError(`--${flag} ${JSON.stringify(text)} is not a duration`, {
      hint: `write a positive duration such as 500ms, 30s, 5m or 1h30m`,
    });
  }
  return ms;
}
