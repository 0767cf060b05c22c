// SPDX-License-Identifier: Apache-2.0
// Per-function invocation metrics: counts plus latency percentiles from a fixed ring of recent
// samples (4096), so memory stays constant however long the function runs. Pure.

const RING = 4096;

export class FunctionMetrics {
  invocations = 0;
  errors = 0;
  malformed = 0;
  lastError: string | undefined;
  readonly #samples = new Float64Array(RING);
  #filled = 0;
  #next = 0;

  recordCall(micros: number, ok: boolean, error?: string): void {
    this.invocations++;
    if (!ok) {
      this.errors++;
      this.lastError = error;
    }
    this.#samples[this.#next] = micros;
    this.#next = (this.#next + 1) % RING;
    this.#filled = Math.min(RING, this.#filled + 1);
  }

  recordMalformed(problem: string): void {
    this.malformed++;
    this.lastError = problem;
  }

  /** Latency percentile in µs over the recent window, or undefined before the first call. */
  percentile(p: number): number | undefined {
    if (this.#filled === 0) return undefined;
    const sorted = this.#samples.slice(0, this.#filled).sort();
    const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
    return Math.round((sorted[index] ?? 0) * 10) / 10;
  }
}
