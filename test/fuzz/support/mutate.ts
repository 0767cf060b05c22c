// SPDX-License-Identifier: Apache-2.0
// Mutators shared by the targets: near-valid inputs find more than random ones, because they get
// past the first check and reach the code behind it.
import fc from 'fast-check';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Odd values a field might receive instead of the right one. */
export const oddValue: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom<Json>(
    null,
    true,
    false,
    0,
    -1,
    1e308,
    -0,
    2 ** 53,
    2 ** 31,
    4294967296,
    '',
    ' ',
    '#',
    '+',
    'a/#/b',
    'a/+b',
    '{node}',
    '$SYS/x',
    'wasmfleet/v1/x',
    '\u0000',
    '\uFFFF',
    '𝔘',
    [],
    {},
    [[]],
    { v: 1 },
  ),
  fc.string({ maxLength: 20 }),
  fc.integer(),
  fc.double(),
  fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>,
);

/** A structural mutation of a JSON value: drop, replace or add a field somewhere inside. */
export function mutateJson(value: Json): fc.Arbitrary<Json> {
  const paths = collectPaths(value);
  return fc
    .tuple(
      fc.constantFrom(...paths),
      fc.constantFrom('drop', 'replace', 'add', 'duplicate', 'wrap'),
      oddValue,
      fc.string({ maxLength: 8 }),
    )
    .map(([p, how, odd, key]) => applyMutation(structuredClone(value), p, how, odd, key));
}

function collectPaths(value: Json, prefix: (string | number)[] = [], out: (string | number)[][] = []) {
  out.push(prefix);
  if (Array.isArray(value)) value.forEach((v, i) => collectPaths(v, [...prefix, i], out));
  else if (value !== null && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) collectPaths(v, [...prefix, k], out);
  return out;
}

function applyMutation(root: Json, at: (string | number)[], how: string, odd: Json, key: string): Json {
  if (at.length === 0) return how === 'wrap' ? [root] : how === 'replace' ? odd : root;
  let parent: Json = root;
  for (const step of at.slice(0, -1)) parent = (parent as Record<string | number, Json>)[step] as Json;
  const last = at.at(-1) as string | number;
  const holder = parent as Record<string | number, Json>;
  if (how === 'drop') {
    if (Array.isArray(parent)) parent.splice(Number(last), 1);
    // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- dropping an arbitrary field is the mutation
    else delete holder[last];
  } else if (how === 'replace') holder[last] = odd;
  else if (how === 'add') {
    const target = holder[last];
    if (Array.isArray(target)) target.push(odd);
    else if (target !== null && typeof target === 'object') target[key] = odd;
    else holder[last] = odd;
  } else if (how === 'duplicate') {
    if (Array.isArray(parent)) parent.push(structuredClone(holder[last] as Json));
    else holder[last] = [holder[last] as Json];
  } else holder[last] = [holder[last] as Json];
  return root;
}

/** Byte-level damage: flips, inserts, deletes, truncation; the result is usually invalid UTF-8/JSON. */
export function mutateBytes(bytes: Uint8Array): fc.Arbitrary<Uint8Array> {
  const len = Math.max(1, bytes.length);
  return fc
    .array(
      fc.tuple(fc.constantFrom('flip', 'set', 'insert', 'delete', 'truncate'), fc.nat(len - 1), fc.nat(255)),
      { minLength: 1, maxLength: 4 },
    )
    .map((ops) => {
      let out = Array.from(bytes);
      for (const [op, at, b] of ops) {
        const i = Math.min(at, Math.max(0, out.length - 1));
        if (op === 'flip' && out.length > 0) out[i] = (out[i] ?? 0) ^ (1 << (b & 7));
        else if (op === 'set' && out.length > 0) out[i] = b;
        else if (op === 'insert') out.splice(i, 0, b);
        else if (op === 'delete') out.splice(i, 1);
        else out = out.slice(0, i);
      }
      return Uint8Array.from(out);
    });
}

/** Byte sequences that are never valid UTF-8 (overlong, surrogates, stray continuation, …). */
export const invalidUtf8: fc.Arbitrary<Uint8Array> = fc
  .tuple(
    fc.string({ maxLength: 10 }),
    fc.constantFrom(
      [0xc0, 0x80],
      [0xed, 0xa0, 0x80],
      [0x80],
      [0xff],
      [0xf4, 0x90, 0x80, 0x80],
      [0xe2, 0x82],
      [0xf0, 0x9f, 0x98],
    ),
    fc.string({ maxLength: 10 }),
  )
  .map(([a, bad, b]) => Uint8Array.from([...Buffer.from(a), ...bad, ...Buffer.from(b)]));

/** Deeply nested JSON (arrays or objects), balanced or cut off. */
export const deepJson: fc.Arbitrary<Uint8Array> = fc
  .tuple(
    // Mostly shallow (cheap), now and then deep enough to break a recursive reader.
    fc.oneof(
      { arbitrary: fc.integer({ min: 1, max: 64 }), weight: 9 },
      { arbitrary: fc.integer({ min: 1, max: 100_000 }), weight: 1 },
    ),
    fc.boolean(),
    fc.boolean(),
  )
  .map(([depth, objects, balanced]) => {
    const open = objects ? '{"a":' : '[';
    const close = objects ? '}' : ']';
    return Buffer.from(`${open.repeat(depth)}1${balanced ? close.repeat(depth) : ''}`);
  });

export type { Json };
