// SPDX-License-Identifier: Apache-2.0
// Shared by the api tests: the example manifests and the invalid-manifest fixtures.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

export const API_DIR = path.resolve(import.meta.dirname, '..');
export const REPO_DIR = path.resolve(API_DIR, '..');
export const EXAMPLES_DIR = path.join(API_DIR, 'examples');
export const INVALID_DIR = path.join(import.meta.dirname, 'fixtures', 'invalid');

export interface Manifest {
  file: string;
  doc: unknown;
  kind: string;
}

export async function loadManifests(file: string): Promise<Manifest[]> {
  const docs = parseAllDocuments(await readFile(file, 'utf8'));
  return docs.map((d) => {
    if (d.errors.length > 0) throw new Error(`${file}: ${d.errors.map((e) => e.message).join('; ')}`);
    const doc: unknown = d.toJS();
    const kind =
      typeof doc === 'object' && doc !== null && 'kind' in doc && typeof doc.kind === 'string'
        ? doc.kind
        : '';
    return { file, doc, kind };
  });
}

export async function exampleFiles(): Promise<string[]> {
  return (await readdir(EXAMPLES_DIR))
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => path.join(EXAMPLES_DIR, f));
}

export interface InvalidFixture {
  name: string;
  manifestPath: string;
  manifest: string;
  /** Every line must appear in kubectl's stderr. */
  expected: string[];
  /** The field the API server names, e.g. spec.inputs[0].topic. */
  field: string;
}

export async function invalidFixtures(): Promise<InvalidFixture[]> {
  const names = (await readdir(INVALID_DIR, { withFileTypes: true }))
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
  return Promise.all(
    names.map(async (name) => {
      const manifestPath = path.join(INVALID_DIR, name, 'manifest.yaml');
      const expected = (await readFile(path.join(INVALID_DIR, name, 'expected.txt'), 'utf8'))
        .split('\n')
        .filter((l) => l.trim() !== '');
      const first = expected[0] ?? '';
      const unknown = /^unknown field "([^"]+)"/.exec(first);
      const field = unknown?.[1] ?? first.slice(0, first.indexOf(':'));
      return { name, manifestPath, manifest: await readFile(manifestPath, 'utf8'), expected, field };
    }),
  );
}
