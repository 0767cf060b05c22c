// SPDX-License-Identifier: Apache-2.0
// The answer codec (channel.ts) over the two kinds of buffer it writes: a plain ArrayBuffer on the
// agent's thread, moved into a bigger one as it grows, and the growable SharedArrayBuffer a
// worker shares with the agent, grown in place by either side.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Reader, Writer } from '../../src/runtime/core/channel.ts';

function payload(n: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);
}

describe('channel writer', () => {
  it('over a plain buffer moves what it wrote into a bigger one, and a reader of that buffer reads it all', () => {
    const w = new Writer(new ArrayBuffer(64), 1 << 20);
    const chunks = [payload(40, 1), payload(5000, 2), payload(200_000, 3)];
    for (const c of chunks) {
      assert.ok(w.reserve(c.length + 8));
      w.u32(7);
      w.bytes(c);
    }
    assert.equal(w.buffer.byteLength >= w.pos, true);
    assert.equal(w.buffer instanceof SharedArrayBuffer, false);
    const r = new Reader(w.buffer);
    for (const c of chunks) {
      assert.equal(r.u32(), 7);
      assert.deepEqual(r.pooledCopy(), Buffer.from(c));
    }
    assert.equal(r.pos, w.pos);
  });

  it('refuses what would not fit under its maximum, and keeps what it holds', () => {
    const w = new Writer(new ArrayBuffer(16), 1024);
    assert.ok(w.reserve(8));
    w.u32(1);
    w.u32(2);
    assert.equal(w.reserve(1024), false);
    assert.equal(w.room, 1016);
    const r = new Reader(w.buffer);
    assert.deepEqual([r.u32(), r.u32()], [1, 2]);
  });

  it('over a shared buffer grows it in place, also after the other side grew it further', () => {
    const shared = new SharedArrayBuffer(64, { maxByteLength: 1 << 20 });
    const here = new Writer(shared);
    const there = new Writer(shared);
    assert.ok(there.reserve(100_000)); // the worker grew the buffer: `here` still believes it is 64 bytes
    assert.equal(shared.byteLength, 100_000);
    assert.ok(here.reserve(50_000), 'no attempt to shrink it');
    assert.equal(shared.byteLength, 100_000);
    here.pos = 49_000;
    here.bytes(payload(900, 4));
    assert.equal(here.buffer, shared);
    const r = new Reader(shared);
    r.pos = 49_000;
    assert.deepEqual(r.pooledCopy(), Buffer.from(payload(900, 4)));
    assert.ok(here.reserve(200_000));
    assert.equal(shared.byteLength, 249_904);
  });
});
