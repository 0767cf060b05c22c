// SPDX-License-Identifier: Apache-2.0
// Per-device, per-function key-value state (the guest's state_get/state_set) kept in memory and
// persisted to one JSON file per function, atomically and at most every 200 ms, so it survives
// restarts of the function and of the agent without a disk write per call.
import type { FunctionState } from '../runtime/types.ts';
import { readIfExists, writeFileAtomic } from '../persist/atomic-file.ts';

export const DEFAULT_STATE_QUOTA = 64 * 1024;
const FLUSH_DELAY_MS = 200;

export class FileState implements FunctionState {
  readonly #file: string;
  readonly #quota: number;
  readonly #values = new Map<string, Uint8Array>();
  #used = 0;
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> = Promise.resolve();

  private constructor(file: string, quota: number) {
    this.#file = file;
    this.#quota = quota;
  }

  static async open(file: string, quota = DEFAULT_STATE_QUOTA): Promise<FileState> {
    const state = new FileState(file, quota);
    const raw = await readIfExists(file);
    if (raw) {
      try {
        const entries = JSON.parse(raw.toString('utf8')) as Record<string, string>;
        for (const [k, v] of Object.entries(entries)) state.#put(k, new Uint8Array(Buffer.from(v, 'base64')));
      } catch {
        // A damaged state file starts empty rather than keeping the function from running.
      }
    }
    return state;
  }

  get(key: string): Uint8Array | undefined {
    return this.#values.get(key);
  }

  set(key: string, value: Uint8Array): boolean {
    const old = this.#values.get(key);
    const next = this.#used - (old ? key.length + old.length : 0) + key.length + value.length;
    if (next > this.#quota) return false;
    this.#put(key, value.slice());
    this.#timer ??= setTimeout(() => void this.flush(), FLUSH_DELAY_MS);
    return true;
  }

  #put(key: string, value: Uint8Array): void {
    const old = this.#values.get(key);
    this.#used += key.length + value.length - (old ? key.length + old.length : 0);
    this.#values.set(key, value);
  }

  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const data = JSON.stringify(
      Object.fromEntries([...this.#values].map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
    );
    this.#writing = this.#writing.then(() => writeFileAtomic(this.#file, data));
    await this.#writing;
  }
}
