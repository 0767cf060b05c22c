// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { crc32 } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { type Harness, dec, enc, loadExample } from '../helpers/harness.ts';

function frame(data: Uint8Array, trailer: Uint8Array): Uint8Array {
  const out = new Uint8Array(data.length + trailer.length);
  out.set(data);
  out.set(trailer, data.length);
  return out;
}
const be32 = (v: number): Uint8Array => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0);
  return b;
};

describe('checksum-go example (Go wasip1)', () => {
  let fn: Harness;
  before(async () => {
    fn = await loadExample('checksum-go', { memoryBytes: 64 * 1024 * 1024 });
  });
  after(() => fn.close());

  it('accepts a frame with a correct CRC-32 trailer', async () => {
    const data = enc.encode('123456789');
    assert.deepEqual(await fn.json(frame(data, be32(crc32(data)))), [
      { ok: true, algorithm: 'crc32', length: 9, checksum: 'cbf43926' },
    ]);
  });

  it('reports a corrupted frame and logs a warning', async () => {
    const data = enc.encode('sensor frame 42');
    const bad = frame(data, be32(crc32(data)));
    bad[3]! ^= 0x01;
    const [verdict] = (await fn.json(bad, 'frames/dev1/raw')) as {
      ok: boolean;
      expected: string;
      actual: string;
    }[];
    assert.equal(verdict?.ok, false);
    assert.notEqual(verdict.expected, verdict.actual);
    assert.ok(fn.logs.some((l) => l.level === 'warn' && l.text.includes('frames/dev1/raw')));
  });

  it('supports xor8 and adler32, and forwards valid data with FORWARD=true', async () => {
    const xor = await loadExample('checksum-go', {
      memoryBytes: 64 * 1024 * 1024,
      config: { ALGORITHM: 'xor8', FORWARD: 'true' },
    });
    try {
      const data = Uint8Array.from([1, 2, 4, 8, 0xf0]);
      const [out] = await xor.ok(frame(data, Uint8Array.of(1 ^ 2 ^ 4 ^ 8 ^ 0xf0)));
      assert.deepEqual(new Uint8Array(out!.payload), data); // a Buffer from the agent's pool
      const [verdict] = (await xor.json(frame(data, Uint8Array.of(0)))) as { ok: boolean }[];
      assert.equal(verdict?.ok, false);
    } finally {
      await xor.close();
    }
    const adler = await loadExample('checksum-go', {
      memoryBytes: 64 * 1024 * 1024,
      config: { ALGORITHM: 'adler32' },
    });
    try {
      // Adler-32 of "Wikipedia" is 0x11E60398.
      const [out] = await adler.ok(frame(enc.encode('Wikipedia'), be32(0x11e60398)));
      assert.match(dec.decode(out!.payload), /"ok":true/);
    } finally {
      await adler.close();
    }
  });

  it('fails clearly on short frames and unknown algorithms', async () => {
    assert.match(await fn.fails(Uint8Array.of(1, 2)), /shorter than its 4-byte crc32 trailer/);
    const bad = await loadExample('checksum-go', {
      memoryBytes: 64 * 1024 * 1024,
      config: { ALGORITHM: 'md5' },
    });
    try {
      assert.match(await bad.fails('abcd'), /unknown ALGORITHM "md5"/);
    } finally {
      await bad.close();
    }
  });
});
