// SPDX-License-Identifier: Apache-2.0
// Valid wire documents by construction (the seeds the mutators start from).
import fc from 'fast-check';
import type { DesiredFunction, DesiredState } from '@wasmfleet/api';
import type { Json } from './mutate.ts';

const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/);

/** An RFC 8428 SenML pack every conforming reader accepts. */
export const validSenml: fc.Arbitrary<Json[]> = fc
  .tuple(
    fc.option(name, { nil: undefined }),
    fc.array(
      fc.record({
        n: name,
        value: fc.oneof(
          fc.record({ v: fc.double({ noNaN: true, noDefaultInfinity: true }) }),
          fc.record({ vs: fc.string({ maxLength: 12 }) }),
          fc.record({ vb: fc.boolean() }),
          fc.record({ vd: fc.base64String({ maxLength: 12 }) }),
          fc.record({ s: fc.integer() }),
        ),
        t: fc.option(fc.integer({ min: 0, max: 2 ** 40 }), { nil: undefined }),
        u: fc.option(fc.constantFrom('Cel', '%RH', 'Pa'), { nil: undefined }),
      }),
      { minLength: 1, maxLength: 5 },
    ),
  )
  .map(([bn, records]) =>
    records.map((r, i) => ({
      ...(i === 0 && bn !== undefined ? { bn: `${bn}/` } : {}),
      n: r.n,
      ...r.value,
      ...(r.t !== undefined ? { t: r.t } : {}),
      ...(r.u !== undefined ? { u: r.u } : {}),
    })),
  );

/** Any JSON document (what a 'json' input must accept). */
export const validJson: fc.Arbitrary<Json> = fc.jsonValue({ maxDepth: 4 }) as fc.Arbitrary<Json>;

const sha = fc.stringMatching(/^[a-f0-9]{64}$/);

export function validDesiredFunction(): fc.Arbitrary<DesiredFunction> {
  return fc.record({
    namespace: name,
    name,
    revision: fc.stringMatching(/^[a-z0-9]{1,16}$/),
    module: fc.record({ sha256: sha, size: fc.integer({ min: 8, max: 1 << 20 }) }),
    inputs: fc.array(
      fc.record({
        topic: fc.constantFrom('sensors/{node}/temp', 'sensors/+/hum', 'plant/#', 'a'),
        qos: fc.constantFrom(0 as const, 1 as const),
        format: fc.constantFrom('raw' as const, 'json' as const, 'senml' as const),
      }),
      { minLength: 1, maxLength: 3 },
    ),
    outputs: fc.array(
      fc.record({
        topic: fc.constantFrom('out/{node}/x', 'alerts/a'),
        qos: fc.constantFrom(0 as const, 1 as const),
        retain: fc.boolean(),
      }),
      { maxLength: 2 },
    ),
    config: fc.dictionary(name, fc.string({ maxLength: 8 }), { maxKeys: 3 }),
    limits: fc.record({
      memoryBytes: fc.integer({ min: 65_536, max: 64 * 1024 * 1024 }),
      timeoutMs: fc.integer({ min: 1, max: 60_000 }),
    }),
  });
}

export function validDesiredState(node: string): fc.Arbitrary<DesiredState> {
  return fc.record({
    version: fc.constant(1 as const),
    node: fc.constant(node),
    generation: fc.nat(),
    functions: fc.array(validDesiredFunction(), { maxLength: 3 }),
  });
}
