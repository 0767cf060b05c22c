// SPDX-License-Identifier: Apache-2.0
// Integer reads for mqtt-packet's parser without garbage. The parser keeps what the socket gave it
// in a bl BufferListStream, whose readUInt8/readUInt16BE/readUInt32BE slice a new Buffer (and an
// offset pair) for every integer they read: a PUBLISH with MQTT 5 properties takes 6–10 of them
// (fixed header, lengths, topic length, packet id, property ids, subscription identifiers). These
// read the bytes where they are and give the same answers; a read outside the list goes to bl's
// own method, so its errors stay the same.
import BufferListStream from 'bl';

/** What the replacements need of a BufferListStream (its chunks are bl's `_bufs`). */
interface Chunks {
  readonly _bufs: readonly Uint8Array[];
  readonly length: number;
}
type Read = (this: Chunks, offset?: number) => number;

const INSTALLED = Symbol.for('wasmfleet.packet-reads');

/** The byte at `index` of the list; the caller checked 0 ≤ index < length. */
function byteAt(bufs: readonly Uint8Array[], index: number): number {
  let at = index;
  for (const b of bufs) {
    if (at < b.length) return b[at] ?? 0;
    at -= b.length;
  }
  return 0;
}

function inRange(list: Chunks, offset: number, size: number): boolean {
  return Number.isInteger(offset) && offset >= 0 && offset + size <= list.length;
}

/** A read of `size` bytes from `combine`, or bl's own read outside the list. */
function reader(size: number, original: Read, combine: (list: Chunks, at: number) => number): Read {
  return function read(this: Chunks, offset = 0): number {
    return inRange(this, offset, size) ? combine(this, offset) : original.call(this, offset);
  };
}

/** Replaces bl's integer reads mqtt-packet uses; once per process, idempotent. */
export function installPacketReads(): void {
  const proto = BufferListStream.prototype as unknown as Record<string | symbol, unknown>;
  if (proto[INSTALLED]) return;
  const original = (name: string): Read => proto[name] as Read;
  proto.readUInt8 = reader(1, original('readUInt8'), (l, at) => byteAt(l._bufs, at));
  proto.readUInt16BE = reader(
    2,
    original('readUInt16BE'),
    (l, at) => (byteAt(l._bufs, at) << 8) | byteAt(l._bufs, at + 1),
  );
  proto.readUInt32BE = reader(
    4,
    original('readUInt32BE'),
    (l, at) =>
      byteAt(l._bufs, at) * 0x1000000 +
      ((byteAt(l._bufs, at + 1) << 16) | (byteAt(l._bufs, at + 2) << 8) | byteAt(l._bufs, at + 3)),
  );
  proto[INSTALLED] = true;
}
