// SPDX-License-Identifier: Apache-2.0
// validateWasmFunction / validateEdgeNode mirror the CRDs: every example passes, every invalid
// fixture fails at the same field the API server names, and the CEL twins agree with the rules.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import {
  parseDuration,
  parseQuantity,
  validateEdgeNode,
  validateWasmFunction,
  type WasmFunction,
  type ValidationIssue,
} from '../src/index.ts';
import { exampleFiles, invalidFixtures, loadManifests } from './helpers.ts';

const SHA = '3f2a9c4e1b7d8f60a5c3e2d1b0f9a8e7d6c5b4a39281706f5e4d3c2b1a0f9e8d';

function fn(spec: Record<string, unknown>): Record<string, unknown> {
  return {
    apiVersion: 'wasmfleet.io/v1alpha1',
    kind: 'WasmFunction',
    metadata: { name: 'f' },
    spec: {
      module: { url: 'https://a.example/f.wasm', sha256: SHA },
      inputs: [{ topic: 'sensors/a/t' }],
      ...spec,
    },
  };
}

function validate(doc: unknown): ValidationIssue[] {
  const kind = typeof doc === 'object' && doc !== null && 'kind' in doc ? doc.kind : undefined;
  return kind === 'EdgeNode' ? validateEdgeNode(doc) : validateWasmFunction(doc);
}

const fmt = (issues: ValidationIssue[]) => issues.map((i) => `${i.path}: ${i.message}`).join('\n');

describe('validateWasmFunction', () => {
  it('accepts every example manifest', async () => {
    const files = await exampleFiles();
    const kinds = new Set<string>();
    for (const file of files) {
      for (const m of await loadManifests(file)) {
        kinds.add(m.kind);
        assert.deepEqual(validate(m.doc), [], `${file}:\n${fmt(validate(m.doc))}`);
      }
    }
    assert.deepEqual([...kinds].sort(), ['EdgeNode', 'WasmFunction']);
  });

  it('rejects every invalid fixture at the field the API server names', async () => {
    const fixtures = await invalidFixtures();
    assert.ok(fixtures.length >= 15, `only ${fixtures.length} fixtures`);
    for (const f of fixtures) {
      const issues = validate(parse(f.manifest));
      assert.ok(issues.length > 0, `${f.name}: accepted`);
      assert.ok(
        issues.some((i) => i.path === f.field),
        `${f.name}: expected an issue at ${f.field}, got\n${fmt(issues)}`,
      );
    }
  });

  it('reports CEL-rule problems with the same message the API server prints', async () => {
    const fixtures = await invalidFixtures();
    let compared = 0;
    for (const f of fixtures) {
      const issues = validate(parse(f.manifest)).filter((i) => i.path === f.field);
      const cel = issues.filter((i) => f.expected.some((line) => line.includes(i.message)));
      if (
        f.expected.join('\n').includes(' in body ') ||
        /Unsupported value|Duplicate value|Required value$|unknown field/.test(f.expected[0] ?? '')
      )
        continue;
      assert.equal(cel.length, 1, `${f.name}: ${fmt(issues)} vs ${f.expected.join(' | ')}`);
      compared++;
    }
    assert.ok(compared >= 20, `compared ${compared}`);
  });

  it('accepts a minimal function and applies defaults without touching the input', () => {
    const input = fn({ placement: { replicas: 2, mode: 'Replicas' } });
    const before = structuredClone(input);
    assert.deepEqual(validateWasmFunction(input), []);
    assert.deepEqual(input, before);
  });

  it('treats an omitted placement.mode as Every, as the API server defaults it', () => {
    const issues = validateWasmFunction(fn({ placement: { replicas: 2 } }));
    assert.deepEqual(
      issues.map((i) => i.path),
      ['spec.placement.replicas'],
    );
    assert.match(issues[0]?.message ?? '', /only allowed with placement.mode: Replicas/);
  });

  it('checks MQTT topic filters like a broker would', () => {
    const topic = (t: string) => validateWasmFunction(fn({ inputs: [{ topic: t }] }));
    for (const ok of ['#', '+', 'a/+/b', 'sensors/#', '+/+/#', 'sensors/{node}/temperature', 'a//b', '/a'])
      assert.deepEqual(topic(ok), [], ok);
    for (const bad of [
      '#/a',
      'a/#/b',
      'a#',
      'a/b#',
      '+a',
      'a+',
      'a/+b',
      'a/b+/c',
      '',
      'wasmfleet/v1/x',
      '$SYS/#',
    ]) {
      assert.equal(topic(bad).length, 1, `${bad}: ${fmt(topic(bad))}`);
    }
    const out = (t: string) => validateWasmFunction(fn({ outputs: [{ topic: t }] }));
    assert.deepEqual(out('alerts/{node}/t'), []);
    assert.match(out('alerts/+')[0]?.message ?? '', /remove the '\+' or '#' wildcard/);
  });

  it('keeps canary steps strictly increasing', () => {
    const steps = (...p: number[]) =>
      validateWasmFunction(fn({ rollout: { strategy: 'Canary', steps: p.map((percent) => ({ percent })) } }));
    assert.deepEqual(steps(1, 50, 100), []);
    assert.deepEqual(steps(100), []);
    assert.equal(steps(10, 10)[0]?.path, 'spec.rollout.steps');
    assert.equal(steps(50, 20, 80)[0]?.path, 'spec.rollout.steps');
    assert.equal(steps(10, 101)[0]?.path, 'spec.rollout.steps[1].percent');
  });

  it('accepts maxUnavailable as a count or a percentage', () => {
    const mu = (v: unknown) => validateWasmFunction(fn({ rollout: { maxUnavailable: v } }));
    for (const ok of [1, 7, '1%', '25%', '100%']) assert.deepEqual(mu(ok), [], String(ok));
    for (const bad of [0, -1, '0%', '101%', '25', 'half']) assert.equal(mu(bad).length, 1, String(bad));
    assert.match(mu(true)[0]?.message ?? '', /integer or string/);
  });

  it('reports unknown fields, missing fields, wrong types and a wrong kind', () => {
    const issues = validateWasmFunction({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {},
      spec: { module: { url: 1 }, extra: true },
    });
    const paths = issues.map((i) => i.path).sort();
    assert.deepEqual(paths, [
      'apiVersion',
      'kind',
      'metadata.name',
      'spec.extra',
      'spec.inputs',
      'spec.module.url',
    ]);
    assert.deepEqual(validateWasmFunction('nope'), [
      { path: '', message: 'a WasmFunction must be an object' },
    ]);
  });

  it('is typed by the same schema: a WasmFunction value type-checks and validates', () => {
    const value: WasmFunction = {
      apiVersion: 'wasmfleet.io/v1alpha1',
      kind: 'WasmFunction',
      metadata: { name: 'typed', namespace: 'ns' },
      spec: {
        module: { oci: 'registry.example/a/b:1' },
        inputs: [{ topic: 'x/+/y', qos: 0, format: 'json' }],
        placement: { mode: 'Replicas', replicas: 2, spread: { topologyKey: 'line' } },
        limits: { memory: '4Gi', timeout: '60s' },
        rollout: { strategy: 'Canary', steps: [{ percent: 10, gate: 'Manual' }], maxUnavailable: '10%' },
      },
    };
    assert.deepEqual(validateWasmFunction(value), []);
  });
});

describe('quantities and durations (the TypeScript twins of CEL quantity() and duration())', () => {
  it('parses Kubernetes quantities', () => {
    assert.equal(parseQuantity('16Mi'), 16 * 1024 * 1024);
    assert.equal(parseQuantity('4Gi'), 4 * 1024 ** 3);
    assert.equal(parseQuantity('1.5k'), 1500);
    assert.equal(parseQuantity('100m'), 0.1);
    assert.equal(parseQuantity('1e3'), 1000);
    assert.equal(parseQuantity('-1Gi'), -(1024 ** 3));
    for (const bad of ['16MB', 'Mi', '', '1 Gi', '0x10']) assert.equal(parseQuantity(bad), undefined, bad);
  });

  it('parses Go durations', () => {
    assert.equal(parseDuration('50ms'), 50);
    assert.equal(parseDuration('1m30s'), 90_000);
    assert.equal(parseDuration('1.5s'), 1500);
    assert.equal(parseDuration('250us'), 0.25);
    for (const bad of ['-5s', '5', 's', '1 s', '1d']) assert.equal(parseDuration(bad), undefined, bad);
  });

  it('bounds limits: memory in (0, 4Gi], timeout in (0, 60s]', () => {
    const lim = (limits: Record<string, string>) =>
      validateWasmFunction(fn({ limits })).map((i) => i.message);
    assert.deepEqual(lim({ memory: '4Gi', timeout: '60s' }), []);
    assert.deepEqual(lim({ memory: '1', timeout: '1ns' }), []);
    assert.deepEqual(lim({ memory: '4097Mi' }), ['limits.memory must be at most 4Gi']);
    assert.deepEqual(lim({ timeout: '60001ms' }), ['limits.timeout must be at most 60s']);
    assert.deepEqual(lim({ timeout: '0ms' }), ['limits.timeout must be greater than 0, e.g. 50ms']);
  });
});

describe('validateEdgeNode', () => {
  it('accepts a bare node and rejects a bad taint effect', () => {
    assert.deepEqual(
      validateEdgeNode({ apiVersion: 'wasmfleet.io/v1alpha1', kind: 'EdgeNode', metadata: { name: 'n' } }),
      [],
    );
    const issues = validateEdgeNode({
      apiVersion: 'wasmfleet.io/v1alpha1',
      kind: 'EdgeNode',
      metadata: { name: 'n' },
      spec: { taints: [{ key: 'k', effect: 'PreferNoSchedule' }] },
    });
    assert.equal(issues[0]?.path, 'spec.taints[0].effect');
  });
});
