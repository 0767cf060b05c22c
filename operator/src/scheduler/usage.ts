// SPDX-License-Identifier: Apache-2.0
// Per-node consumption: a mutable working copy during a run, frozen into the result's state.
import type { NodeCapacity, UsageSnapshot } from './types.ts';

export class Usage {
  readonly functions: Map<string, number>;
  readonly memoryBytes: Map<string, number>;
  readonly #start: UsageSnapshot | undefined;
  readonly #touched = new Set<string>();

  constructor(from?: UsageSnapshot) {
    this.functions = new Map(from?.functions);
    this.memoryBytes = new Map(from?.memoryBytes);
    this.#start = from;
  }

  /** Nodes whose usage differs from when this working copy was made. */
  changed(): Set<string> {
    const changed = new Set<string>();
    for (const node of this.#touched) {
      if (
        this.functions.get(node) !== this.#start?.functions.get(node) ||
        this.memoryBytes.get(node) !== this.#start?.memoryBytes.get(node)
      ) {
        changed.add(node);
      }
    }
    return changed;
  }

  /** Nodes with less in use now than when this working copy was made. */
  freed(): Set<string> {
    const freed = new Set<string>();
    for (const node of this.#touched) {
      if (
        (this.functions.get(node) ?? 0) < (this.#start?.functions.get(node) ?? 0) ||
        (this.memoryBytes.get(node) ?? 0) < (this.#start?.memoryBytes.get(node) ?? 0)
      ) {
        freed.add(node);
      }
    }
    return freed;
  }

  add(node: string, memoryBytes: number): void {
    this.#touched.add(node);
    this.functions.set(node, (this.functions.get(node) ?? 0) + 1);
    if (memoryBytes !== 0) this.memoryBytes.set(node, (this.memoryBytes.get(node) ?? 0) + memoryBytes);
  }

  /** Zero entries are deleted so that equal usage always has equal maps. */
  subtract(node: string, memoryBytes: number): void {
    this.#touched.add(node);
    const count = (this.functions.get(node) ?? 0) - 1;
    if (count <= 0) this.functions.delete(node);
    else this.functions.set(node, count);
    if (memoryBytes === 0) return;
    const mem = (this.memoryBytes.get(node) ?? 0) - memoryBytes;
    if (mem <= 0) this.memoryBytes.delete(node);
    else this.memoryBytes.set(node, mem);
  }

  forget(node: string): void {
    this.functions.delete(node);
    this.memoryBytes.delete(node);
  }

  fits(node: string, capacity: NodeCapacity, memoryBytes: number): boolean {
    return (
      (this.functions.get(node) ?? 0) + 1 <= capacity.functions &&
      (this.memoryBytes.get(node) ?? 0) + memoryBytes <= capacity.memoryBytes
    );
  }

  overCapacity(node: string, capacity: NodeCapacity): boolean {
    return (
      (this.functions.get(node) ?? 0) > capacity.functions ||
      (this.memoryBytes.get(node) ?? 0) > capacity.memoryBytes
    );
  }

  /** Which limit stops one more function, for reasons. */
  shortage(node: string, capacity: NodeCapacity): 'functions' | 'memory' {
    return (this.functions.get(node) ?? 0) + 1 > capacity.functions ? 'functions' : 'memory';
  }

  snapshot(): UsageSnapshot {
    return { functions: this.functions, memoryBytes: this.memoryBytes };
  }
}
