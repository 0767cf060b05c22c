// SPDX-License-Identifier: Apache-2.0
// Per-device desired documents. Each device gets ONE retained document listing everything it
// should run, so a device's document depends on every function placed on it. This module keeps
// that index and says which documents changed; publishing is the bridge's job.
import { createHash } from 'node:crypto';
import { functionKey, type DesiredFunction, type DesiredState } from '@wasmfleet/api';
import { canonicalJson } from './revision-hash.ts';

export class NodeDocuments {
  /** node → function key → what that node should run of it. */
  private readonly byNode = new Map<string, Map<string, DesiredFunction>>();
  /** node → the last document known to be on the broker (retained), ours or a predecessor's. */
  private readonly published = new Map<string, DesiredState>();
  /**
   * node → `generation:digest of the content` of the documents this process published (the
   * latest few). Two reconciles may publish the same generation with different content, so both
   * are the key; a digest, not the content, so a device costs ~40 bytes an entry, not ~600.
   */
  private readonly own = new Map<string, string[]>();
  /** Nodes whose retained document someone else overwrote: republished on the next assign(). */
  private readonly overwritten = new Set<string>();
  /**
   * Nodes whose latest document was not acknowledged (the publish failed or timed out): offered
   * again by the next assign(), which the failed reconcile's retry makes. Without this the retry
   * found nothing changed (the assignment was already recorded) and the device's retained
   * document stayed behind until the next change (ADR 0055).
   */
  private readonly unacknowledged = new Set<string>();

  /** Seeds what the broker already holds (retained documents read at start-up). */
  recordPublished(doc: DesiredState): void {
    const current = this.published.get(doc.node);
    if (!current || doc.generation >= current.generation) this.published.set(doc.node, doc);
    if (this.own.get(doc.node)?.includes(ownKey(doc))) this.overwritten.delete(doc.node);
  }

  /** Publishing `doc` failed: the next assign() offers its node again. */
  publishFailed(doc: DesiredState): void {
    this.unacknowledged.add(doc.node);
  }

  /** Call before publishing `doc`, so its echo from the broker is known as ours. */
  publishing(doc: DesiredState): void {
    const mine = this.own.get(doc.node) ?? [];
    mine.push(ownKey(doc));
    if (mine.length > 8) mine.shift();
    this.own.set(doc.node, mine);
  }

  /**
   * A retained document seen on the broker after start-up. The broker delivers a topic's
   * messages in order, so a document that is not one of ours is what the broker holds now:
   * - `own`: the echo of something this process published;
   * - `stale`: one of ours, older than one the broker acknowledged since, sent for a new
   *   subscription (`retained`), so it is what the broker holds: a clustered broker lost the
   *   later write with a node. Republished like an overwritten one;
   * - `adopted`: the first document for a device this process has not dealt with yet (it came
   *   after the start-up read-back): taken over as at start-up;
   * - `overwritten`: a deposed leader or another client replaced what we told the device; the
   *   node's next document replaces it, with a generation above both.
   */
  observeRetained(doc: DesiredState, retained = false): 'own' | 'stale' | 'adopted' | 'overwritten' {
    const mine = this.own.get(doc.node);
    const current = this.published.get(doc.node);
    // A late echo of an older document is forwarded as published (not retained): still ours.
    // Content that differs: republishing makes documents of one content, so this cannot repeat.
    if (
      retained &&
      mine?.includes(ownKey(doc)) &&
      current &&
      doc.generation < current.generation &&
      !sameContent(current.functions, doc.functions)
    ) {
      this.published.set(doc.node, { ...doc, generation: current.generation });
      this.overwritten.add(doc.node);
      return 'stale';
    }
    if (mine?.includes(ownKey(doc))) {
      // Echoes come in broker order: the last one seen is what the broker holds.
      this.recordPublished(doc);
      return 'own';
    }
    if (!mine && !this.byNode.has(doc.node)) {
      this.recordPublished(doc);
      this.byNode.set(doc.node, new Map(doc.functions.map((fn) => [functionKey(fn), fn])));
      return 'adopted';
    }
    if (current && sameContent(current.functions, doc.functions) && current.generation >= doc.generation) {
      return 'own';
    }
    this.published.set(doc.node, { ...doc, generation: Math.max(doc.generation, current?.generation ?? 0) });
    this.overwritten.add(doc.node);
    return 'overwritten';
  }

  /**
   * After a restart: adopt the retained documents as the current assignments, so reconciling
   * one function never drops the others from a device's document before they are reconciled.
   * Returns the function keys found (each must be reconciled, even if it no longer exists).
   */
  adoptPublished(): Set<string> {
    const keys = new Set<string>();
    for (const [node, doc] of this.published) {
      const functions = new Map<string, DesiredFunction>();
      for (const fn of doc.functions) {
        const key = functionKey(fn);
        functions.set(key, fn);
        keys.add(key);
      }
      this.byNode.set(node, functions);
    }
    return keys;
  }

  /** Function key → devices, as the published documents say (seeds stable placement). */
  publishedPlacement(): Map<string, string[]> {
    const placement = new Map<string, string[]>();
    for (const [node, doc] of this.published) {
      for (const fn of doc.functions) {
        const key = functionKey(fn);
        placement.set(key, [...(placement.get(key) ?? []), node]);
      }
    }
    return placement;
  }

  publishedFor(node: string): DesiredState | undefined {
    return this.published.get(node);
  }

  publishedNodes(): IterableIterator<string> {
    return this.published.keys();
  }

  /**
   * Sets what `functionKey` runs where (node → its wire document). Returns the nodes whose
   * document content may have changed.
   */
  assign(functionKey: string, perNode: ReadonlyMap<string, DesiredFunction>): Set<string> {
    // Overwritten and unacknowledged documents are republished by whichever reconcile comes next.
    const touched = new Set<string>([...this.overwritten, ...this.unacknowledged]);
    for (const [node, functions] of this.byNode) {
      if (functions.has(functionKey) && !perNode.has(node)) {
        functions.delete(functionKey);
        touched.add(node);
      }
    }
    for (const [node, fn] of perNode) {
      let functions = this.byNode.get(node);
      if (!functions) {
        functions = new Map();
        this.byNode.set(node, functions);
      }
      // Same revision can still differ in what the device can accept (signatures added once it
      // reports a newer agent), so compare the content, not just the revision.
      const before = functions.get(functionKey);
      if (before === undefined || before.revision !== fn.revision || contentOf(before) !== contentOf(fn))
        touched.add(node);
      functions.set(functionKey, fn);
    }
    return touched;
  }

  remove(functionKey: string): Set<string> {
    return this.assign(functionKey, new Map());
  }

  /** Module digests some device is assigned (blobs that must stay on the broker). */
  referencedDigests(): Set<string> {
    const digests = new Set<string>();
    for (const functions of this.byNode.values())
      for (const fn of functions.values()) digests.add(fn.module.sha256);
    return digests;
  }

  /** Function keys a device is assigned. */
  assignmentsOfNode(node: string): string[] {
    return [...(this.byNode.get(node)?.keys() ?? [])];
  }

  /** What `functionKey` is assigned to run, by node (for status and rollouts). */
  assignmentsOf(functionKey: string): Map<string, DesiredFunction> {
    const out = new Map<string, DesiredFunction>();
    for (const [node, functions] of this.byNode) {
      const fn = functions.get(functionKey);
      if (fn) out.set(node, fn);
    }
    return out;
  }

  /**
   * The documents that differ from what is published, for the given nodes, each with the next
   * generation. A device that runs nothing gets an empty list (so it stops what it ran), unless
   * it never had a document.
   */
  changedDocuments(nodes: Iterable<string>): DesiredState[] {
    const out: DesiredState[] = [];
    for (const node of nodes) {
      // Offered now; a failure marks it again.
      const unacknowledged = this.unacknowledged.delete(node);
      const functions = [...(this.byNode.get(node)?.values() ?? [])].sort(byKey);
      const previous = this.published.get(node);
      if (!previous && functions.length === 0) continue;
      if (previous && sameContent(previous.functions, functions)) {
        this.overwritten.delete(node);
        // Its echo may have recorded it, but the broker did not acknowledge storing it (nats-server
        // forwards a message whose retained copy it failed to store): published again as it is.
        if (unacknowledged) out.push(previous);
        continue;
      }
      out.push({ version: 1, node, generation: (previous?.generation ?? 0) + 1, functions });
    }
    return out;
  }

  /** Nodes that run at least one function or have a document on the broker. */
  knownNodes(): Set<string> {
    return new Set([...this.byNode.keys(), ...this.published.keys()]);
  }
}

/**
 * canonicalJson of a function's document entry, once per object: a reconcile hands one object to
 * every device on the same revision, so comparing 10,000 devices costs one serialisation, not
 * 20,000 (ADR 0038). Entries are never changed once made.
 */
const contents = new WeakMap<DesiredFunction, string>();
function contentOf(fn: DesiredFunction): string {
  let content = contents.get(fn);
  if (content === undefined) contents.set(fn, (content = canonicalJson(fn)));
  return content;
}

function byKey(a: DesiredFunction, b: DesiredFunction): number {
  const ka = functionKey(a);
  const kb = functionKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/**
 * Two documents' function lists say the same, compared entry by entry on the entries' cached
 * contents: entries are shared by every device on a revision, so this serialises nothing new and
 * keeps no string per device (ADR 0045).
 */
function sameContent(a: readonly DesiredFunction[], b: readonly DesiredFunction[]): boolean {
  return a.length === b.length && a.every((fn, i) => b[i] !== undefined && contentOf(fn) === contentOf(b[i]));
}

/**
 * `generation:digest` of a document's content: what `own` keeps of each document published. Asked
 * up to four times per document (publishing, its echo, recording it), so it is kept per document
 * object (the bridge hands an echo on as the object it published); a one-function document's
 * digest is kept per entry, which every device on a revision shares (issue 18).
 */
const ownKeys = new WeakMap<DesiredState, string>();
function ownKey(doc: DesiredState): string {
  let key = ownKeys.get(doc);
  if (key === undefined) ownKeys.set(doc, (key = `${doc.generation}:${contentDigest(doc.functions)}`));
  return key;
}

const entryDigests = new WeakMap<DesiredFunction, string>();
function contentDigest(functions: readonly DesiredFunction[]): string {
  const only = functions.length === 1 ? functions[0] : undefined;
  const cached = only && entryDigests.get(only);
  if (cached !== undefined) return cached;
  const hash = createHash('sha256');
  for (const fn of functions) hash.update(contentOf(fn)).update('\n');
  const digest = hash.digest('base64url').slice(0, 22);
  if (only) entryDigests.set(only, digest);
  return digest;
}
