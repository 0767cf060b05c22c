// SPDX-License-Identifier: Apache-2.0
// Getting a module's bytes: the local store first, then the module topic, then the URL. Every
// source's bytes go through ModuleStore.put, which refuses anything whose digest does not match,
// so nothing unverified ever reaches the compiler.
import { urlForLogs, type ModuleRef } from '@wasmfleet/api';
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
      // Bytes that cannot be the module (more than its size) are a verdict, not an outage.
      if (error instanceof StoreError && error.reason === 'DigestMismatch') throw error;
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
  // The message ends up in the function's status, which the broker keeps: never the URL's user,
  // password or query values, and never fetch's own message (it quotes the URL).
  const where = `GET ${urlForLogs(ref.url)}`;
  let response: Response;
  try {
    response = await fetch(ref.url, { signal });
  } catch (error) {
    throw new Error(`${where} failed: ${fetchProblem(error)}`, { cause: error });
  }
  if (!response.ok || !response.body) throw new Error(`${where} answered ${response.status}`);
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
      total += chunk.length;
      if (total > ref.size)
        throw new StoreError('DigestMismatch', `${where} returned more than the announced ${ref.size} bytes`);
      chunks.push(chunk);
    }
  } catch (error) {
    if (error instanceof StoreError) throw error;
    throw new Error(`${where} failed after ${total} bytes: ${fetchProblem(error)}`, { cause: error });
  }
  return Buffer.concat(chunks);
};

/** Why a download failed, in words that cannot carry the URL (a system error code, a name). */
function fetchProblem(error: unknown): string {
  if (error instanceof Error && error.name === 'TimeoutError') return 'timed out';
  if (error instanceof TypeError && /credentials/.test(error.message))
    return 'a URL with a user or password cannot be fetched; give the device a URL without them';
  const cause = error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined;
  if (typeof cause?.code === 'string') return cause.code;
  return error instanceof Error ? error.name : 'unknown error';
}
