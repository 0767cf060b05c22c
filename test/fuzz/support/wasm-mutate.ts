// SPDX-License-Identifier: Apache-2.0
// Mutations of valid WebAssembly binaries that get past a naive check: section-aware splices,
// LEB128 edge values, truncation, duplicated sections and out-of-range limits, plus plain bit
// flips. Independent of the agent's own binary reader (agent/src/runtime/wasm-binary.ts) on
// purpose: a shared parser would share its blind spots.
import fc from 'fast-check';

export interface Section {
  readonly id: number;
  /** The whole section: id byte, size LEB and body. */
  readonly bytes: Uint8Array;
  readonly body: Uint8Array;
}

/** Splits a binary into its 8-byte header and sections; stops at the first malformed one. */
export function sections(module: Uint8Array): { header: Uint8Array; list: Section[] } {
  const list: Section[] = [];
  let pos = 8;
  while (pos < module.length) {
    const id = module[pos] ?? 0;
    let size = 0;
    let shift = 0;
    let p = pos + 1;
    for (;;) {
      const b = module[p++];
      if (b === undefined || shift > 28) return { header: module.subarray(0, 8), list };
      size += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if ((b & 0x80) === 0) break;
    }
    const end = p + size;
    if (end > module.length) break;
    list.push({ id, bytes: module.subarray(pos, end), body: module.subarray(p, end) });
    pos = end;
  }
  return { header: module.subarray(0, 8), list };
}

export function uleb(value: number): number[] {
  const out: number[] = [];
  let rest = value;
  do {
    let b = rest % 128;
    rest = Math.floor(rest / 128);
    if (rest > 0) b |= 0x80;
    out.push(b);
  } while (rest > 0);
  return out;
}

/** LEB128 encodings at the edges: zero, 7-bit and 32-bit boundaries, overlong, too long. */
export const EDGE_LEBS: readonly number[][] = [
  [0x00],
  [0x7f],
  [0x80, 0x01],
  [0x80, 0x80, 0x80, 0x80, 0x00], // overlong zero (valid, 5 bytes)
  [0xff, 0xff, 0xff, 0xff, 0x0f], // 2^32 - 1
  [0xff, 0xff, 0xff, 0xff, 0x7f], // too large for u32
  [0x80, 0x80, 0x80, 0x80, 0x80, 0x00], // 6 bytes
  [0x80], // cut off
  [0x80, 0x80, 0x04], // 65536
  [0x81, 0x80, 0x04], // 65537 (pages past 4 GiB)
];

function section(id: number, body: readonly number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

/** A memory or table section whose limits sit at or past the edges. */
const oddLimits: fc.Arbitrary<number[]> = fc
  .tuple(
    fc.constantFrom(4, 5), // table or memory
    fc.constantFrom(0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x07, 0x08, 0xff),
    fc.constantFrom(...EDGE_LEBS),
    fc.constantFrom(...EDGE_LEBS),
    fc.integer({ min: 0, max: 3 }),
  )
  .map(([id, flags, min, max, count]) => {
    const entry = [...(id === 4 ? [0x70] : []), flags, ...min, ...(flags & 1 ? max : [])];
    const entries: number[] = [];
    for (let i = 0; i < count; i++) entries.push(...entry);
    return section(id, [count, ...entries]);
  });

type Op =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'duplicate'; index: number }
  | { kind: 'drop'; index: number }
  | { kind: 'swap'; a: number; b: number }
  | { kind: 'splice'; index: number; donor: number; donorSection: number }
  | { kind: 'size-leb'; index: number; leb: number[] }
  | { kind: 'body-leb'; index: number; at: number; leb: number[] }
  | { kind: 'limits'; index: number; bytes: number[] };

function op(len: number): fc.Arbitrary<Op> {
  const at = fc.nat(Math.max(0, len - 1));
  const idx = fc.nat(64);
  return fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at, bit: fc.nat(7) }),
    fc.record({ kind: fc.constant('truncate' as const), at }),
    fc.record({ kind: fc.constant('duplicate' as const), index: idx }),
    fc.record({ kind: fc.constant('drop' as const), index: idx }),
    fc.record({ kind: fc.constant('swap' as const), a: idx, b: idx }),
    fc.record({ kind: fc.constant('splice' as const), index: idx, donor: fc.nat(16), donorSection: idx }),
    fc.record({ kind: fc.constant('size-leb' as const), index: idx, leb: fc.constantFrom(...EDGE_LEBS) }),
    fc.record({
      kind: fc.constant('body-leb' as const),
      index: idx,
      at: fc.nat(4096),
      leb: fc.constantFrom(...EDGE_LEBS),
    }),
    fc.record({ kind: fc.constant('limits' as const), index: idx, bytes: oddLimits }),
  );
}

function apply(module: Uint8Array, o: Op, donors: readonly Uint8Array[]): Uint8Array {
  if (o.kind === 'flip') {
    const out = module.slice();
    if (out.length > 0) out[o.at % out.length] = (out[o.at % out.length] ?? 0) ^ (1 << o.bit);
    return out;
  }
  if (o.kind === 'truncate') return module.slice(0, o.at % (module.length + 1));
  const { header, list } = sections(module);
  const parts = list.map((s) => s.bytes);
  const n = parts.length;
  const pick = (i: number): number => (n === 0 ? 0 : i % n);
  switch (o.kind) {
    case 'duplicate':
      if (n > 0) parts.splice(pick(o.index), 0, parts[pick(o.index)] ?? new Uint8Array());
      break;
    case 'drop':
      if (n > 0) parts.splice(pick(o.index), 1);
      break;
    case 'swap':
      if (n > 1) {
        const a = parts[pick(o.a)] ?? new Uint8Array();
        parts[pick(o.a)] = parts[pick(o.b)] ?? new Uint8Array();
        parts[pick(o.b)] = a;
      }
      break;
    case 'splice': {
      const donor = donors[o.donor % Math.max(1, donors.length)];
      const from = donor ? sections(donor).list : [];
      const s = from[o.donorSection % Math.max(1, from.length)];
      if (s) parts.splice(pick(o.index), 0, s.bytes);
      break;
    }
    case 'size-leb': {
      const s = list[pick(o.index)];
      if (s) parts[pick(o.index)] = Uint8Array.from([s.id, ...o.leb, ...s.body]);
      break;
    }
    case 'body-leb': {
      const s = list[pick(o.index)];
      if (s && s.body.length > 0) {
        const at = o.at % s.body.length;
        const body = [...s.body.subarray(0, at), ...o.leb, ...s.body.subarray(at + 1)];
        parts[pick(o.index)] = Uint8Array.from(section(s.id, body));
      }
      break;
    }
    case 'limits': {
      const id = o.bytes[0];
      const existing = list.findIndex((s) => s.id === id);
      if (existing >= 0) parts[existing] = Uint8Array.from(o.bytes);
      else parts.splice(pick(o.index), 0, Uint8Array.from(o.bytes));
      break;
    }
  }
  const total = parts.reduce((sum, p) => sum + p.length, header.length);
  const out = new Uint8Array(total);
  out.set(header, 0);
  let pos = header.length;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

/** 1–3 mutations of one of the seed modules (donors for splices are the seeds themselves). */
export function mutatedModule(
  seeds: readonly Uint8Array[],
): fc.Arbitrary<{ seed: number; bytes: Uint8Array }> {
  return fc.nat(seeds.length - 1).chain((seed) => {
    const base = seeds[seed] ?? new Uint8Array();
    return fc
      .array(op(base.length), { minLength: 1, maxLength: 3 })
      .map((ops) => ({ seed, bytes: ops.reduce((m, o) => apply(m, o, seeds), base) }));
  });
}

/** Does the binary have a start section (id 8)? Such modules run code at instantiation. */
export function hasStartSection(module: Uint8Array): boolean {
  return sections(module).list.some((s) => s.id === 8);
}
