// SPDX-License-Identifier: Apache-2.0
// Which devices get module.signatures (pure), and the upgrade path: a device that reports a newer
// agent gets the same revision again WITH its signatures (regression: documents were compared by
// revision only, so the upgraded, signature-requiring device would have kept refusing it).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DesiredFunction } from '@wasmfleet/api';
import { NodeDocuments } from '../../src/fleet/node-documents.ts';
import { agentUnderstandsSignatures, forAgent } from '../../src/fleet/signature-support.ts';

const signed: DesiredFunction = {
  namespace: 'ns',
  name: 'f',
  revision: 'r1',
  module: { sha256: 'a'.repeat(64), size: 8, signatures: [{ keyId: 'k', ed25519: `${'A'.repeat(86)}==` }] },
  inputs: [{ topic: 't', qos: 1, format: 'raw' }],
  outputs: [],
  config: {},
  limits: { memoryBytes: 65_536, timeoutMs: 10 },
};

describe('signature support by agent version', () => {
  it('agents from 0.2.0 (and devices that reported no version) get signatures; older ones do not', () => {
    for (const v of [undefined, '0.2.0', '0.2.1', '0.10.0', '1.0.0', 'custom-build'])
      assert.equal(agentUnderstandsSignatures(v), true, String(v));
    for (const v of ['0.1.0', 'sim-0.1.0', '0.1.99']) assert.equal(agentUnderstandsSignatures(v), false, v);
    assert.equal(forAgent(signed, '0.1.0').module.signatures, undefined);
    assert.equal(forAgent(signed, '0.1.0').revision, 'r1');
    assert.equal(forAgent(signed, '0.2.0'), signed);
  });

  it('an upgraded device gets its document again with the signatures, under the same revision', () => {
    const docs = new NodeDocuments();
    docs.assign('ns/f', new Map([['n1', forAgent(signed, '0.1.0')]]));
    const [first] = docs.changedDocuments(['n1']);
    assert.ok(first);
    docs.recordPublished(first);
    const touched = docs.assign('ns/f', new Map([['n1', forAgent(signed, '0.2.0')]]));
    assert.deepEqual([...touched], ['n1']);
    const [second] = docs.changedDocuments(touched);
    assert.equal(second?.functions[0]?.module.signatures?.length, 1);
    assert.equal(second.generation, first.generation + 1);
  });
});
