// SPDX-License-Identifier: Apache-2.0
// Counts what a fuzz target did: inputs tried and the distinct failure reasons they ended in (a
// "reason" is a message with its numbers and quoted values blanked, so "byte 17" and "byte 90"
// count once). Printed as a test diagnostic and, with WASMFLEET_FUZZ_REPORT=<dir>, written as
// JSON so docs/reliability.md figures come from a run, not from memory.
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { FUZZ_SEED } from './budget.ts';

export class Tally {
  readonly target: string;
  inputs = 0;
  crashes = 0;
  readonly reasons = new Map<string, number>();

  readonly seed: number;

  constructor(target: string, seed: number = FUZZ_SEED) {
    this.target = target;
    this.seed = seed;
  }

  /** One input handled; `reason` when it was refused or failed (normalised before counting). */
  record(reason?: string): void {
    this.inputs++;
    if (reason === undefined) return;
    const key = normaliseReason(reason);
    this.reasons.set(key, (this.reasons.get(key) ?? 0) + 1);
  }

  summary(): string {
    const top = [...this.reasons.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 8)
      .map(([r, n]) => `  ${n}× ${r}`)
      .join('\n');
    return `${this.target}: ${this.inputs} inputs, ${this.reasons.size} distinct failure reasons, ${this.crashes} crashes (seed ${this.seed})${top ? `\n${top}` : ''}`;
  }

  /** Prints the summary (via `diagnostic`) and appends it to the report file when asked to. */
  report(diagnostic: (text: string) => void): void {
    diagnostic(this.summary());
    const dir = process.env.WASMFLEET_FUZZ_REPORT;
    if (!dir) return;
    mkdirSync(dir, { recursive: true });
    appendFileSync(
      path.join(dir, 'fuzz-report.jsonl'),
      `${JSON.stringify({
        target: this.target,
        seed: this.seed,
        inputs: this.inputs,
        distinctReasons: this.reasons.size,
        crashes: this.crashes,
        reasons: Object.fromEntries(this.reasons),
      })}\n`,
    );
  }
}

export function normaliseReason(reason: string): string {
  return reason
    .replace(/"(?:[^"\\]|\\.)*"/g, '"…"')
    .replace(/'(?:[^'\\]|\\.)*'/g, "'…'")
    .replace(/0x[0-9a-f]+/gi, 'N')
    .replace(/\d+(\.\d+)?/g, 'N')
    .slice(0, 160);
}
