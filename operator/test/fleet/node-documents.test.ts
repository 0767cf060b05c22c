// SPDX-License-Identifier: Apache-2.0
// NodeDocuments tells its own retained documents from someone else's when they come back from
// the broker as fresh objects (parsed off the wire, keys in any order). Since ADR 0045 it keeps a
// digest of what it published instead of the content, and reuses each document's serialisation:
// the classification and "nothing changed, publish nothing" must stay what they were.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DesiredFunction, DesiredState } from '@wasmfleet/api';
import { NodeDocuments } from '../../src/fleet/node-documents.ts';

const fn = (revision: string, config: Record<string, string> = {}): DesiredFunction => ({
  namespace: 'ns',
  name: 'f',
  revision,
  module: { sha256: 'a'.repeat(64), size: 8 },
  inputs: [{ topic: 't', qos: 1, format: 'raw' }],
  outputs: [],
  config,
  limits: { memoryBytes: 65_536, timeoutMs: 10 },
});

/** What the broker hands back: the same document, a new object, keys in reverse order. */
function offTheWire(doc: DesiredState): DesiredState {
  const reversed = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(reversed);
    if (value === null || typeof value !== 'object') return value;
    return Object.fromEntries(
      Object.entries(value)
        .reverse()
        .map(([k, v]) => [k, reversed(v)]),
    );
  };
  return reversed(JSON.parse(JSON.stringify(doc))) as DesiredState;
}

/** Assigns `f` to `node` and starts publishing the document that makes: not acknowledged yet. */
function startPublishing(docs: NodeDocuments, functionKey: string, node: string, f: DesiredFunction) {
  docs.assign(functionKey, new Map([[node, f]]));
  const [doc] = docs.changedDocuments([node]);
  assert.ok(doc, `a document for ${node}`);
  docs.publishing(doc);
  return doc;
}

function publishOne(docs: NodeDocuments, functionKey: string, node: string, f: DesiredFunction) {
  const doc = startPublishing(docs, functionKey, node, f);
  docs.recordPublished(doc);
  return doc;
}

describe('NodeDocuments', () => {
  it('knows the echo of its own document, in any key order, as its own', () => {
    const docs = new NodeDocuments();
    const doc = publishOne(docs, 'ns/f', 'n1', fn('r1'));
    assert.equal(docs.observeRetained(offTheWire(doc)), 'own');
    assert.deepEqual(docs.changedDocuments(['n1']), [], 'nothing to republish');
  });

  it("calls another client's document for the same generation overwritten, and republishes over it", () => {
    const docs = new NodeDocuments();
    const doc = publishOne(docs, 'ns/f', 'n1', fn('r1'));
    const foreign = { ...offTheWire(doc), functions: [fn('r0', { LEVEL: 'old' })] };
    assert.equal(docs.observeRetained(foreign), 'overwritten');
    const [again] = docs.changedDocuments(docs.assign('ns/f', new Map([['n1', fn('r1')]])));
    assert.ok(again, 'the spec is published again');
    assert.equal(again.generation, doc.generation + 1);
    assert.equal(again.functions[0]?.revision, 'r1');
  });

  it('publishes a changed document once, and not again for an equal copy of its content', () => {
    const docs = new NodeDocuments();
    const first = publishOne(docs, 'ns/f', 'n1', fn('r1'));
    const second = publishOne(docs, 'ns/f', 'n1', fn('r2'));
    assert.equal(second.generation, first.generation + 1);
    docs.assign('ns/f', new Map([['n1', fn('r2')]]));
    assert.deepEqual(docs.changedDocuments(['n1']), [], 'an equal entry made anew changes nothing');
    assert.equal(docs.observeRetained(offTheWire(first)), 'own', 'a late echo of an older one is ours too');
    assert.deepEqual(docs.changedDocuments(['n1']), [], 'and does not make the newer one look unpublished');
  });

  it('republishes when the broker holds an older document of ours than it acknowledged since (a node lost the write)', () => {
    const docs = new NodeDocuments();
    const first = publishOne(docs, 'ns/f', 'n1', fn('r1'));
    const second = publishOne(docs, 'ns/f', 'n1', fn('r2'));
    assert.equal(docs.observeRetained(offTheWire(first), true), 'stale', 'sent for a new subscription');
    const [again] = docs.changedDocuments(docs.assign('ns/f', new Map([['n1', fn('r2')]])));
    assert.ok(again, 'the current document is published again');
    assert.equal(again.generation, second.generation + 1, 'above what the device may have applied');
    assert.equal(again.functions[0]?.revision, 'r2');
  });

  it('does not republish for an older retained copy with the same content (republishing cannot loop)', () => {
    const docs = new NodeDocuments();
    const first = publishOne(docs, 'ns/f', 'n1', fn('r1'));
    const second = publishOne(docs, 'ns/f', 'n1', fn('r2'));
    assert.equal(docs.observeRetained(offTheWire(first), true), 'stale');
    const [again] = docs.changedDocuments(docs.assign('ns/f', new Map([['n1', fn('r2')]])));
    assert.ok(again);
    docs.publishing(again);
    docs.recordPublished(again);
    assert.equal(docs.observeRetained(offTheWire(second), true), 'own', 'older, but what the device runs');
    assert.deepEqual(docs.changedDocuments(['n1']), []);
  });

  it('offers a document whose publish failed again to the next assign (the failed reconcile retries)', () => {
    const docs = new NodeDocuments();
    publishOne(docs, 'ns/f', 'n1', fn('r1'));
    const lost = startPublishing(docs, 'ns/f', 'n1', fn('r2'));
    docs.publishFailed(lost);
    const touched = docs.assign('ns/f', new Map([['n1', fn('r2')]]));
    assert.deepEqual([...touched], ['n1'], 'the same assignment touches the node again');
    const [again] = docs.changedDocuments(touched);
    assert.deepEqual(again, lost, 'the same document, same generation');
    docs.recordPublished(lost);
    assert.deepEqual(
      [...docs.assign('ns/f', new Map([['n1', fn('r2')]]))],
      [],
      'once acknowledged, nothing more',
    );
  });

  it('publishes an unacknowledged document again even when its echo came back (the broker forwarded it but did not store it)', () => {
    const docs = new NodeDocuments();
    publishOne(docs, 'ns/f', 'n1', fn('r1'));
    const lost = startPublishing(docs, 'ns/f', 'n1', fn('r2'));
    assert.equal(docs.observeRetained(offTheWire(lost)), 'own', 'the echo, forwarded live');
    docs.publishFailed(lost);
    const [again] = docs.changedDocuments(docs.assign('ns/f', new Map([['n1', fn('r2')]])));
    assert.equal(again?.generation, lost.generation, 'the same document, as it is');
    assert.equal(again.functions[0]?.revision, 'r2');
    assert.deepEqual(docs.changedDocuments(['n1']), [], 'offered once per failure');
  });
});
