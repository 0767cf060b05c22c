// SPDX-License-Identifier: Apache-2.0
// Getting a module's bytes: the local store first, then the module topic, then the URL. Every
// source's bytes go through ModuleStore.put, which refuses anything whose digest does not match,
// so nothing unverified ever reaches the compiler.
import type { ModuleRef } from '@wasmfleet/api';
import { ModuleStore, StoreError } from './module-store.ts';

/** A way to download bytes for a module (MQTT module topic, HTTP). */
export type ModuleSource = (ref: ModuleRef, signal: AbortSignal) => Promise<Uint8Array | undefined>;

export interface FetchOptions {
  readonly sources: readonly ModuleSource[];
  readonly timeoutMs?: number;
  /** Digests the store must not evict to make room (the desired state's modules). */
  readonly referenced?: ReadonlySet<string>;
}

export async function fetchModule(
  store: ModuleStore,
  ref: ModuleRef,
  options: FetchOptions,
): Promise<Uint8Array> {
  const cached = await store.get(ref.sha256);
  if (cached) return cached;
  if (ref.size > store.maxBlobBytes) {
    throw new StoreError(
      'ModuleTooLarge',
      `the module is ${ref.size} bytes; this agent accepts at most ${store.maxBlobBytes}`,
    );
  }
  const problems: string[] = [];
  for (const source of options.sources) {
    const signal = AbortSignal.timeout(options.timeoutMs ?? 30_000);
    let bytes: Uint8Array | undefined;
    try {
      bytes = await source(ref, signal);
    } catch (error) {
      problems.push((error as Error).message);
      continue;
    }
    if (!bytes) continue;
    await store.put(ref.sha256, bytes, options.referenced); // throws DigestMismatch
    return bytes;
  }
  throw new StoreError(
    'FetchFailed',
    `no source had module sha256:${ref.sha256}${problems.length ? `: ${problems.join('; ')}` : ''}`,
  );
}

/** Downloads `ref.url` with a size cap (no url: not this source). */
export const httpSource: ModuleSource = async (ref, signal) => {
  if (!ref.url) return undefined;
  const response = await fetch(ref.url, { signal });
  if (!response.ok || !response.body) throw new Error(`GET ${ref.url} answered ${response.status}`);
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
    total += chunk.length;
    if (total > ref.size)
      throw new StoreError(
        'DigestMismatch',
        `GET ${ref.url} returned more than the announced ${ref.size} bytes`,
      );
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
};
