// SPDX-License-Identifier: Apache-2.0
// The content-addressed module store: blobs/sha256/<hex>, written atomically, verified on every
// read (a flipped bit on the SD card is a cache miss, never an executed module), bounded in total
// size, and garbage-collected against the set of digests the desired state still references.
// It never hands out bytes whose sha256 does not match the digest they were asked for.
import { createHash } from 'node:crypto';
import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { readIfExists, writeFileAtomic } from '../persist/atomic-file.ts';
import { ReasonError } from '../runtime/errors.ts';
import { DEFAULT_MAX_MODULE_BYTES } from '../runtime/limits.ts';

export type StoreProblem = 'DigestMismatch' | 'ModuleTooLarge' | 'StoreFull' | 'FetchFailed';

export class StoreError extends ReasonError<StoreProblem> {
  override readonly name = 'StoreError';
}

export interface ModuleStoreOptions {
  readonly dir: string;
  /** Total bytes of all blobs (default 256 MiB). */
  readonly maxTotalBytes?: number;
  /** Largest single blob (default 32 MiB). */
  readonly maxBlobBytes?: number;
}

export interface ModuleStoreStats {
  corruptEntries: number;
  hits: number;
  misses: number;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

const DIGEST = /^[a-f0-9]{64}$/;

export class ModuleStore {
  readonly #dir: string;
  readonly #maxTotal: number;
  readonly #maxBlob: number;
  readonly stats: ModuleStoreStats = { corruptEntries: 0, hits: 0, misses: 0 };

  constructor(options: ModuleStoreOptions) {
    this.#dir = path.join(options.dir, 'blobs', 'sha256');
    this.#maxTotal = options.maxTotalBytes ?? 256 * 1024 * 1024;
    this.#maxBlob = options.maxBlobBytes ?? DEFAULT_MAX_MODULE_BYTES;
  }

  get maxBlobBytes(): number {
    return this.#maxBlob;
  }

  #file(digest: string): string {
    if (!DIGEST.test(digest)) throw new Error(`invalid sha256 digest ${JSON.stringify(digest)}`);
    return path.join(this.#dir, digest);
  }

  /** Verified bytes, or undefined when absent or corrupt (a corrupt entry is deleted). */
  async get(digest: string): Promise<Uint8Array | undefined> {
    const file = this.#file(digest);
    const bytes = await readIfExists(file);
    if (!bytes) {
      this.stats.misses++;
      return undefined;
    }
    if (sha256Hex(bytes) !== digest) {
      this.stats.corruptEntries++;
      this.stats.misses++;
      await rm(file, { force: true });
      return undefined;
    }
    this.stats.hits++;
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Verifies and stores; throws StoreError. `referenced` lets a full store evict what is unused. */
  async put(digest: string, bytes: Uint8Array, referenced: ReadonlySet<string> = new Set()): Promise<void> {
    if (bytes.length > this.#maxBlob) {
      throw new StoreError(
        'ModuleTooLarge',
        `module ${digest.slice(0, 12)} is ${bytes.length} bytes; the store accepts at most ${this.#maxBlob}`,
      );
    }
    const actual = sha256Hex(bytes);
    if (actual !== digest) {
      throw new StoreError(
        'DigestMismatch',
        `module bytes hash to sha256:${actual}, not the expected sha256:${digest}; refusing to store or run them`,
      );
    }
    let total = await this.totalBytes();
    if (total + bytes.length > this.#maxTotal) {
      await this.gc(new Set([...referenced, digest]));
      total = await this.totalBytes();
      if (total + bytes.length > this.#maxTotal) {
        throw new StoreError(
          'StoreFull',
          `the module store holds ${total} bytes in use; adding ${bytes.length} would exceed its ${this.#maxTotal}-byte limit`,
        );
      }
    }
    await writeFileAtomic(this.#file(digest), bytes);
  }

  async list(): Promise<string[]> {
    try {
      return (await readdir(this.#dir)).filter((n) => DIGEST.test(n));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
  }

  async totalBytes(): Promise<number> {
    let total = 0;
    for (const digest of await this.list())
      total += (await stat(this.#file(digest)).catch(() => ({ size: 0 }))).size;
    return total;
  }

  /** Removes every blob not in `keep`, and stray temp files; returns the removed digests. */
  async gc(keep: ReadonlySet<string>): Promise<string[]> {
    const removed: string[] = [];
    for (const digest of await this.list()) {
      if (keep.has(digest)) continue;
      await rm(this.#file(digest), { force: true });
      removed.push(digest);
    }
    const strays = await readdir(this.#dir).catch(() => []);
    for (const name of strays)
      if (name.endsWith('.tmp')) await rm(path.join(this.#dir, name), { force: true });
    return removed;
  }
}
