// SPDX-License-Identifier: Apache-2.0
// Resolutions remembered by (source, digest): an unchanged spec resolves without downloading
// again on every reconcile. Bytes are stored once per sha256 however many sources point at
// them, and the least recently used are evicted past a byte budget.
import type { ModuleSignature } from '@wasmfleet/api';
import type { ResolvedModule } from '@wasmfleet/oci';

/** Signature lookups remembered per artifact manifest, for when the registry is unreachable. */
const MAX_SIGNATURE_ENTRIES = 1024;

export const DEFAULT_CACHE_BYTES = 256 * 1024 * 1024;

export class ModuleCache {
  readonly maxBytes: number;
  /** `source \n digest` → sha256 of the module it resolved to. */
  readonly #resolutions = new Map<string, string>();
  /** sha256 → module; Map order is the LRU order (oldest first). */
  readonly #modules = new Map<string, ResolvedModule>();
  /** `oci source \n manifest digest` → the signatures last found for it (LRU order). */
  readonly #signatures = new Map<string, readonly ModuleSignature[]>();
  #bytes = 0;
  #hits = 0;
  #misses = 0;

  constructor(maxBytes = DEFAULT_CACHE_BYTES) {
    this.maxBytes = maxBytes;
  }

  static key(source: string, digest: string): string {
    return `${source}\n${digest}`;
  }

  get(source: string, digest: string): ResolvedModule | undefined {
    const sha = this.#resolutions.get(ModuleCache.key(source, digest));
    const module = sha === undefined ? undefined : this.#modules.get(sha);
    if (module === undefined) {
      this.#misses++;
      return undefined;
    }
    this.#hits++;
    this.#modules.delete(module.sha256);
    this.#modules.set(module.sha256, module);
    return module;
  }

  set(source: string, digest: string, module: ResolvedModule): void {
    // A module bigger than the whole budget would evict everything and still not fit.
    if (module.size > this.maxBytes) return;
    this.#resolutions.set(ModuleCache.key(source, digest), module.sha256);
    if (!this.#modules.has(module.sha256)) {
      this.#modules.set(module.sha256, module);
      this.#bytes += module.size;
    }
    for (const [sha, old] of this.#modules) {
      if (this.#bytes <= this.maxBytes) break;
      this.#modules.delete(sha);
      this.#bytes -= old.size;
      for (const [key, value] of this.#resolutions) if (value === sha) this.#resolutions.delete(key);
    }
  }

  /** The signatures last found for an artifact manifest, if it was ever looked up. */
  signatures(source: string, manifestDigest: string): readonly ModuleSignature[] | undefined {
    return this.#signatures.get(ModuleCache.key(source, manifestDigest));
  }

  setSignatures(source: string, manifestDigest: string, signatures: readonly ModuleSignature[]): void {
    const key = ModuleCache.key(source, manifestDigest);
    this.#signatures.delete(key);
    this.#signatures.set(key, signatures);
    for (const oldest of this.#signatures.keys()) {
      if (this.#signatures.size <= MAX_SIGNATURE_ENTRIES) break;
      this.#signatures.delete(oldest);
    }
  }

  /** Bytes of a module by its sha256, whichever source brought it (for publishing blobs). */
  bySha256(sha256: string): ResolvedModule | undefined {
    return this.#modules.get(sha256);
  }

  stats(): { modules: number; resolutions: number; bytes: number; hits: number; misses: number } {
    return {
      modules: this.#modules.size,
      resolutions: this.#resolutions.size,
      bytes: this.#bytes,
      hits: this.#hits,
      misses: this.#misses,
    };
  }
}
