// SPDX-License-Identifier: Apache-2.0
// The CRDs in crds/ are exactly what the generator produces from the TypeBox schemas, and they are
// structural, bounded (for the CEL cost budget) and carry the user-facing names and columns.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import {
  crdFiles,
  edgeNodeCrd,
  wasmFunctionCrd,
  CATEGORY,
  GROUP,
  VERSION,
  type CustomResourceDefinition,
  type StructuralSchema,
} from '../src/index.ts';
import { REPO_DIR } from './helpers.ts';

const run = promisify(execFile);
const GEN = path.join(REPO_DIR, 'api', 'scripts', 'gen-crds.ts');

function* nodes(schema: StructuralSchema, at = ''): Generator<[string, StructuralSchema]> {
  yield [at, schema];
  for (const [k, v] of Object.entries(schema.properties ?? {})) yield* nodes(v, `${at}.${k}`);
  if (schema.items) yield* nodes(schema.items, `${at}[]`);
  if (schema.additionalProperties) yield* nodes(schema.additionalProperties, `${at}{}`);
}

function rootSchema(crd: CustomResourceDefinition): StructuralSchema {
  const v = crd.spec.versions[0];
  assert.ok(v);
  return v.schema.openAPIV3Schema;
}

describe('generated CRDs', () => {
  it('crds/*.yaml equal what the generator produces (no drift)', async () => {
    const files = crdFiles();
    assert.deepEqual(files.map((f) => f.path).sort(), [
      'crds/edgenodes.wasmfleet.io.yaml',
      'crds/wasmfunctions.wasmfleet.io.yaml',
    ]);
    for (const file of files) {
      const committed = await readFile(path.join(REPO_DIR, file.path), 'utf8');
      assert.equal(committed, file.content, `${file.path} is stale: run npm run gen:crds`);
    }
  });

  it('generation is deterministic', () => {
    assert.deepEqual(crdFiles(), crdFiles());
  });

  it('gen:crds --check passes on the repository and fails naming the file that drifted', async () => {
    const ok = await run(process.execPath, [GEN, '--check'], { cwd: REPO_DIR });
    assert.match(ok.stdout, /up to date/);
    const dir = await mkdtemp(path.join(tmpdir(), 'wasmfleet-crds-'));
    try {
      await cp(path.join(REPO_DIR, 'crds'), dir, { recursive: true });
      const target = path.join(dir, 'edgenodes.wasmfleet.io.yaml');
      await writeFile(
        target,
        (await readFile(target, 'utf8')).replace('shortNames:', 'shortNames: # hand edit'),
      );
      await assert.rejects(
        run(process.execPath, [GEN, '--check', '--dir', dir]),
        (err: { code?: number; stderr?: string }) => {
          assert.equal(err.code, 1);
          assert.match(err.stderr ?? '', /edgenodes\.wasmfleet\.io\.yaml differs/);
          assert.doesNotMatch(err.stderr ?? '', /wasmfunctions/);
          return true;
        },
      );
      await run(process.execPath, [GEN, '--dir', dir]);
      await run(process.execPath, [GEN, '--check', '--dir', dir]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('the YAML parses back to the CRD objects', () => {
    for (const file of crdFiles()) {
      const parsed = parse(file.content) as CustomResourceDefinition;
      const expected = file.path.includes('edgenodes') ? edgeNodeCrd() : wasmFunctionCrd();
      assert.deepEqual(parsed, JSON.parse(JSON.stringify(expected)));
    }
  });

  for (const crd of [wasmFunctionCrd(), edgeNodeCrd()]) {
    describe(crd.metadata.name, () => {
      it('has names, scope, category, short names and the status subresource', () => {
        assert.equal(crd.spec.group, GROUP);
        assert.deepEqual(crd.spec.names.categories, [CATEGORY]);
        assert.ok(crd.spec.names.shortNames.length > 0);
        assert.equal(crd.spec.scope, crd.spec.names.kind === 'EdgeNode' ? 'Cluster' : 'Namespaced');
        const [v] = crd.spec.versions;
        assert.equal(v?.name, VERSION);
        assert.deepEqual(v.subresources, { status: {} });
      });

      it('is structural: every node is typed, no $ref/oneOf/allOf/not, no additionalProperties next to properties', () => {
        for (const [at, node] of nodes(rootSchema(crd))) {
          const raw = node as Record<string, unknown>;
          for (const banned of ['$ref', '$id', 'oneOf', 'allOf', 'not', 'patternProperties', 'const']) {
            assert.equal(raw[banned], undefined, `${at} uses ${banned}`);
          }
          if (node['x-kubernetes-int-or-string'] === true) {
            assert.deepEqual(
              node.anyOf,
              [{ type: 'integer' }, { type: 'string' }],
              `${at}: int-or-string shape`,
            );
          } else {
            assert.ok(node.type, `${at} has no type`);
            assert.equal(node.anyOf, undefined, `${at} uses anyOf`);
          }
          assert.ok(
            !(node.properties && node.additionalProperties),
            `${at} has both properties and additionalProperties`,
          );
          if (node['x-kubernetes-list-type'] === 'map') {
            for (const key of node['x-kubernetes-list-map-keys'] ?? []) {
              assert.ok(node.items?.required?.includes(key), `${at}: list map key ${key} must be required`);
            }
          }
        }
        assert.deepEqual(rootSchema(crd).properties?.metadata, { type: 'object' });
        assert.equal(JSON.stringify(rootSchema(crd)).includes('x-kubernetes-preserve-unknown-fields'), false);
      });

      it('bounds every string and list in spec, so CEL rules stay within the cost budget', () => {
        const spec = rootSchema(crd).properties?.spec;
        assert.ok(spec);
        for (const [at, node] of nodes(spec, 'spec')) {
          if (node.type === 'string' && node.enum === undefined && node.format !== 'date-time')
            assert.ok(node.maxLength !== undefined, `${at} has no maxLength`);
          if (node.type === 'array') assert.ok(node.maxItems !== undefined, `${at} has no maxItems`);
          if (node.type === 'object' && node.additionalProperties)
            assert.ok(node.maxProperties !== undefined, `${at} has no maxProperties`);
        }
      });
    });
  }

  it('prints the columns users expect', () => {
    const headers = (crd: CustomResourceDefinition) =>
      (crd.spec.versions[0]?.additionalPrinterColumns ?? [])
        .filter((c) => c.priority === undefined)
        .map((c) => c.name.toUpperCase());
    assert.deepEqual(headers(wasmFunctionCrd()), ['MODULE', 'READY', 'UP-TO-DATE', 'PHASE', 'AGE']);
    assert.deepEqual(headers(edgeNodeCrd()), ['STATUS', 'SENSORS', 'FUNCTIONS', 'AGENT', 'LAST-SEEN', 'AGE']);
    for (const crd of [wasmFunctionCrd(), edgeNodeCrd()]) {
      const schema = rootSchema(crd);
      for (const column of crd.spec.versions[0]?.additionalPrinterColumns ?? []) {
        // Every column points at a field that exists in the schema.
        let node: StructuralSchema | undefined = schema;
        for (const part of column.jsonPath.split('.').slice(1))
          node = part === 'metadata' ? { type: 'object' } : node?.properties?.[part];
        assert.ok(
          node || column.jsonPath.startsWith('.metadata.'),
          `${crd.metadata.name}: ${column.jsonPath} is not in the schema`,
        );
      }
    }
  });
});
