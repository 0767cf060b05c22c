// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import { decodeModuleEnvelope, moduleTopic } from '@wasmfleet/api';
import { waitFor } from '@wasmfleet/test-support';
import { EMPTY_MODULE, functionYaml, startHarness, type Harness } from './harness.ts';

/** The retained blob on a module topic, or undefined when the broker holds none. */
async function retainedBlob(url: string, digest: string): Promise<Uint8Array | undefined> {
  const client = await mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0 });
  try {
    const received = new Promise<Uint8Array | undefined>((resolve) => {
      client.on('message', (_t, payload) => resolve(payload.length ? payload : undefined));
      setTimeout(() => resolve(undefined), 400);
    });
    await client.subscribeAsync(moduleTopic(digest), { qos: 1 });
    return await received;
  } finally {
    await client.endAsync();
  }
}

const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
// A second valid module: an empty custom section makes the bytes (and digest) differ.
const OTHER_MODULE = Uint8Array.from([...EMPTY_MODULE, 0x00, 0x02, 0x01, 0x78]);

describe('operator: module blobs on the broker', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness('op-blobs');
    await h.device('a', { labels: { zone: 'z' } });
    await h.moduleConfigMap('mod', EMPTY_MODULE);
  });
  after(() => h.close());

  it('publishes the module once as a retained, content-addressed envelope that devices can verify', async () => {
    await h.apply(
      functionYaml('f', {
        module: { configMap: { name: 'mod', key: 'module.wasm' } },
        inputs: [{ topic: 'in/{node}' }],
      }),
    );
    await h.waitForFunction('f', 'Ready', (f) => f.status?.phase === 'Ready');
    const blob = await retainedBlob(h.broker.url, sha(EMPTY_MODULE));
    assert.ok(blob, 'no retained blob');
    const decoded = decodeModuleEnvelope(blob);
    assert.ok(decoded.ok);
    assert.equal(decoded.header.sha256, sha(EMPTY_MODULE));
    assert.deepEqual([...decoded.bytes], [...EMPTY_MODULE]);
  });

  it('clears the old blob once no device document references it', async () => {
    await h.moduleConfigMap('mod', OTHER_MODULE);
    await h.waitForFunction(
      'f',
      'the new module',
      (f) => f.status?.moduleDigest === `sha256:${sha(OTHER_MODULE)}` && f.status.phase === 'Ready',
    );
    await waitFor('the old blob to be cleared', async () =>
      (await retainedBlob(h.broker.url, sha(EMPTY_MODULE))) === undefined ? true : undefined,
    );
    assert.ok(await retainedBlob(h.broker.url, sha(OTHER_MODULE)), 'the new blob must stay');
  });
});
