// SPDX-License-Identifier: Apache-2.0
// WasmFunction and EdgeNode manifests near the edge of what the CRDs admit: every field drawn
// from values on both sides of its rule (quantities, durations, percentages, topic wildcards,
// selector operators), plus structural mutations of the shipped examples.
import { readFile } from 'node:fs/promises';
import fc from 'fast-check';
import { parseAllDocuments } from 'yaml';
import { mutateJson, type Json } from './mutate.ts';

const EXAMPLES = ['temp-alert-url', 'humidity-configmap', 'vibration-oci', 'edgenodes'];

/** The example manifests shipped in api/examples (the seeds of the structural mutations). */
export async function exampleManifests(): Promise<{ functions: Json[]; nodes: Json[] }> {
  const functions: Json[] = [];
  const nodes: Json[] = [];
  for (const name of EXAMPLES) {
    const text = await readFile(new URL(`../../../api/examples/${name}.yaml`, import.meta.url), 'utf8');
    for (const doc of parseAllDocuments(text)) {
      const value = doc.toJS() as Json & { kind?: string };
      if (value.kind === 'WasmFunction') functions.push(value);
      else if (value.kind === 'EdgeNode') nodes.push(value);
    }
  }
  return { functions, nodes };
}

const pick = <T>(...values: T[]) => fc.constantFrom(...values);

export const quantity = fc.oneof(
  pick(
    '16Mi',
    '1',
    '0.5',
    '1e3',
    '64Ki',
    '4Gi',
    '4.1Gi',
    '4097Mi',
    '1E',
    '100m',
    '+1Mi',
    '.5Mi',
    '1e-3',
    '0',
    '-1Mi',
    '1.Mi',
    '16mi',
    '1Ki',
    '65536',
    '0.000001Ki',
    '9999999999999999999999',
  ),
  fc.tuple(fc.nat(5000), pick('', 'Ki', 'Mi', 'Gi', 'm', 'k', 'M')).map(([n, s]) => `${n}${s}`),
);
export const duration = fc.oneof(
  pick(
    '50ms',
    '1ns',
    '0.5ms',
    '60s',
    '61s',
    '1m',
    '1h',
    '0s',
    '1.5s',
    '1m0s',
    '100ms100ms',
    '.5s',
    '1e3ms',
    '59999ms',
    '60000ms',
    '60000.1ms',
    '0.0000001ns',
    's',
    '1',
  ),
  fc.tuple(fc.nat(100_000), pick('ns', 'us', 'ms', 's', 'm', 'h')).map(([n, u]) => `${n}${u}`),
);
export const topic = fc.oneof(
  pick(
    'sensors/{node}/temp',
    'alerts/{node}',
    '#',
    '+',
    'a/#',
    'a/#/b',
    'a/+b',
    '+/+',
    '$SYS/x',
    'wasmfleet/v1/x',
    'wasmfleet',
    '{node}',
    '/',
    'a//b',
    ' ',
    'ü/ñ',
    'x'.repeat(256),
    'x'.repeat(257),
  ),
  fc.string({ minLength: 1, maxLength: 12 }),
);
const labelKey = pick('site', 'zone', 'ring', 'example.com/tier', 'a'.repeat(64), '-bad', '');
const labelValue = pick('plant-1', 'z1', '', 'x'.repeat(64), 'bad value');

const placement = fc.record(
  {
    mode: pick('Every', 'Replicas', 'Sometimes'),
    replicas: fc.oneof(fc.integer({ min: -1, max: 3 }), pick(1000, 2 ** 31)),
    sensors: fc.array(pick('temperature', 'humidity', '', 'TEMP'), { maxLength: 3 }),
    nodeSelector: fc.record(
      {
        matchLabels: fc.dictionary(labelKey, labelValue, { maxKeys: 2 }),
        matchExpressions: fc.array(
          fc.record(
            {
              key: labelKey,
              operator: pick('In', 'NotIn', 'Exists', 'DoesNotExist', 'Gt'),
              values: fc.array(labelValue, { maxLength: 2 }),
            },
            { requiredKeys: ['key', 'operator'] },
          ),
          { maxLength: 2 },
        ),
      },
      { requiredKeys: [] },
    ),
    tolerations: fc.array(
      fc.record(
        {
          key: labelKey,
          operator: pick('Exists', 'Equal'),
          value: labelValue,
          effect: pick('NoSchedule', 'NoExecute', 'PreferNoSchedule'),
        },
        { requiredKeys: [] },
      ),
      { maxLength: 2 },
    ),
    spread: fc.record({ topologyKey: labelKey }),
  },
  { requiredKeys: [] },
);

const rollout = fc.record(
  {
    strategy: pick('Rolling', 'Canary', 'BlueGreen'),
    maxUnavailable: fc.oneof(
      fc.integer({ min: -1, max: 5 }),
      pick<string | number>('25%', '0%', '100%', '101%', '1%', '25', '%', 2.5),
    ),
    steps: fc.array(
      fc.record(
        { percent: fc.integer({ min: -1, max: 101 }), pause: duration, gate: pick('Manual', 'Auto') },
        { requiredKeys: ['percent'] },
      ),
      { maxLength: 4 },
    ),
    waves: fc.record(
      { labelKey, order: fc.array(labelValue, { maxLength: 3 }) },
      { requiredKeys: ['labelKey'] },
    ),
    maxErrorRate: fc.oneof(pick(0, 0.01, 1, 1.5, -0.1), fc.double({ min: -1, max: 2, noNaN: true })),
    progressDeadlineSeconds: fc.oneof(pick(0, 1, 600, 2 ** 31, -5), fc.integer()),
    onFailure: pick('Rollback', 'Pause', 'Explode'),
  },
  { requiredKeys: [] },
);

const moduleSource = fc.oneof(
  fc.record(
    {
      url: pick('https://x.example/m.wasm', 'ftp://x', 'http://a'),
      sha256: pick('a'.repeat(64), 'A'.repeat(64), 'abc'),
    },
    { requiredKeys: ['url'] },
  ),
  fc.record({
    configMap: fc.record(
      { name: pick('mod', 'Bad_Name', ''), key: pick('module.wasm', 'a b') },
      { requiredKeys: ['name'] },
    ),
  }),
  fc.record(
    {
      oci: pick('registry.example/org/fn:1', 'oci://registry.example/x', ''),
      pullSecretRef: fc.record({ name: pick('pull') }),
    },
    { requiredKeys: ['oci'] },
  ),
);

export const wasmFunctionSpec = fc.record(
  {
    module: moduleSource,
    placement,
    inputs: fc.array(
      fc.record(
        { topic, qos: pick(0, 1, 2), format: pick('raw', 'json', 'senml', 'xml') },
        { requiredKeys: ['topic'] },
      ),
      { maxLength: 3 },
    ),
    outputs: fc.array(
      fc.record({ topic, qos: pick(0, 1, 2), retain: fc.boolean() }, { requiredKeys: ['topic'] }),
      { maxLength: 2 },
    ),
    config: fc.dictionary(
      pick('THRESHOLD', '_x', 'a.b-c', '1bad', '', 'k'.repeat(129)),
      fc.string({ maxLength: 6 }),
      { maxKeys: 3 },
    ),
    configMapRef: fc.record({ name: pick('cfg', '') }),
    secretRef: fc.record({ name: pick('sec') }),
    limits: fc.record({ memory: quantity, timeout: duration }, { requiredKeys: [] }),
    rollout,
    paused: fc.boolean(),
  },
  { requiredKeys: ['module', 'inputs'] },
);

/** One field of a valid spec set to an edge value: about half of these are still admitted. */
const edgeField: fc.Arbitrary<[string[], Json]> = fc.oneof(
  quantity.map((v): [string[], Json] => [['limits', 'memory'], v]),
  duration.map((v): [string[], Json] => [['limits', 'timeout'], v]),
  topic.map((v): [string[], Json] => [['inputs', '0', 'topic'], v]),
  topic.map((v): [string[], Json] => [['outputs', '0', 'topic'], v]),
  rollout.map((v): [string[], Json] => [['rollout'], v as Json]),
  placement.map((v): [string[], Json] => [['placement'], v as Json]),
  fc
    .oneof(fc.integer({ min: -1, max: 5 }), pick('25%', '0%', '100%', '101%'))
    .map((v): [string[], Json] => [['rollout', 'maxUnavailable'], v]),
  fc
    .dictionary(fc.string({ maxLength: 130 }), fc.string({ maxLength: 4 }), { maxKeys: 2 })
    .map((v): [string[], Json] => [['config'], v]),
);

function setPath(root: Json, at: readonly string[], value: Json): Json {
  const out = structuredClone(root) as Record<string, Json>;
  let node: Record<string, Json> = out;
  for (const step of at.slice(0, -1)) {
    const next = node[step];
    if (next === null || typeof next !== 'object') node[step] = {};
    node = node[step] as Record<string, Json>;
  }
  node[at.at(-1) ?? ''] = value;
  return out;
}

export function wasmFunction(name: string, examples: readonly Json[]): fc.Arbitrary<Json> {
  const wrap = (spec: Json): Json => ({
    apiVersion: 'wasmfleet.io/v1alpha1',
    kind: 'WasmFunction',
    metadata: { name },
    spec,
  });
  const seeds = examples.map((e) => (e as { spec: Json }).spec);
  return fc.oneof(
    { arbitrary: wasmFunctionSpec.map((s) => wrap(s as Json)), weight: 1 },
    {
      arbitrary: fc
        .tuple(fc.constantFrom(...seeds), edgeField)
        .map(([s, [at, v]]) => wrap(setPath(s, at, v))),
      weight: 5,
    },
    {
      arbitrary: fc
        .constantFrom(...seeds)
        .chain((s) => mutateJson(s))
        .map(wrap),
      weight: 2,
    },
    { arbitrary: wasmFunctionSpec.chain((s) => mutateJson(s as Json)).map(wrap), weight: 1 },
  );
}

export const edgeNodeSpec = fc.record(
  {
    capacity: fc.record(
      { functions: fc.oneof(fc.integer({ min: -1, max: 100 }), pick(2 ** 31)), memory: quantity },
      { requiredKeys: [] },
    ),
    unschedulable: fc.boolean(),
    taints: fc.array(
      fc.record(
        {
          key: labelKey,
          value: labelValue,
          effect: pick('NoSchedule', 'NoExecute', 'PreferNoSchedule', 'Bogus'),
        },
        { requiredKeys: ['key', 'effect'] },
      ),
      { maxLength: 3 },
    ),
  },
  { requiredKeys: [] },
);

export function edgeNode(name: string, examples: readonly Json[]): fc.Arbitrary<Json> {
  const wrap = (spec: Json, labels: Json): Json => ({
    apiVersion: 'wasmfleet.io/v1alpha1',
    kind: 'EdgeNode',
    metadata: { name, labels },
    spec,
  });
  const seeds = examples.map((e) => (e as { spec: Json }).spec);
  const labels = fc.dictionary(pick('site', 'zone', 'ring'), pick('plant-1', 'z1', 'canary'), {
    maxKeys: 2,
  }) as fc.Arbitrary<Json>;
  return fc.oneof(
    fc.tuple(edgeNodeSpec as fc.Arbitrary<Json>, labels).map(([s, l]) => wrap(s, l)),
    fc
      .tuple(
        fc.constantFrom(...seeds).chain((s) => mutateJson(s)),
        labels,
      )
      .map(([s, l]) => wrap(s, l)),
  );
}
