// SPDX-License-Identifier: Apache-2.0
// Reads manifests from files, directories or stdin, and checks WasmFleet kinds against the same
// rules the CRDs enforce, so a bad file fails before anything is sent (and nothing half-applies).
import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import {
  API_VERSION,
  EDGE_NODE_KIND,
  WASM_FUNCTION_KIND,
  validateEdgeNode,
  validateWasmFunction,
} from '@wasmfleet/api';
import { UserError } from './errors.ts';

export interface Manifest {
  readonly source: string;
  readonly object: Record<string, unknown> & {
    apiVersion: string;
    kind: string;
    metadata: { name: string; namespace?: string };
  };
}

export async function readManifests(
  inputs: readonly string[],
  stdin: () => Promise<string>,
): Promise<Manifest[]> {
  const manifests: Manifest[] = [];
  for (const input of inputs) {
    for (const file of await expand(input)) {
      const text = file === '-' ? await stdin() : await readFile(file, 'utf8');
      manifests.push(...parse(file === '-' ? '<stdin>' : file, text));
    }
  }
  if (manifests.length === 0)
    throw new UserError(`no objects found in ${inputs.join(', ')}`, {
      hint: 'pass YAML or JSON manifests with -f',
    });
  const problems = manifests.flatMap(check);
  if (problems.length > 0) {
    throw new UserError(
      `${problems.length} problem${problems.length > 1 ? 's' : ''} found; nothing was applied:\n${problems.map((p) => `  ${p}`).join('\n')}`,
      {
        hint: 'fix the fields named above (see `kubectl explain wasmfunction.spec`) and apply again',
      },
    );
  }
  return manifests;
}

async function expand(input: string): Promise<string[]> {
  if (input === '-') return ['-'];
  const info = await stat(input).catch((cause: unknown) => {
    throw new UserError(`cannot read ${input}: no such file or directory`, {
      hint: 'check the path given to -f',
      cause,
    });
  });
  if (!info.isDirectory()) return [input];
  const entries = (await readdir(input)).filter((f) => /\.(ya?ml|json)$/.test(f)).sort();
  return entries.map((f) => path.join(input, f));
}

function parse(source: string, text: string): Manifest[] {
  const out: Manifest[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) {
      const e = doc.errors[0];
      const where = e?.linePos?.[0] ? `${source}:${e.linePos[0].line}:${e.linePos[0].col}` : source;
      throw new UserError(`${where}: invalid YAML: ${e?.message.split('\n')[0] ?? 'parse error'}`, {
        hint: 'fix the YAML syntax at that line',
      });
    }
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    if (typeof value !== 'object' || Array.isArray(value)) {
      throw new UserError(`${source}: a manifest must be a mapping with apiVersion, kind and metadata`);
    }
    const object = value as Record<string, unknown>;
    const metadata = object.metadata as { name?: unknown } | undefined;
    if (
      typeof object.apiVersion !== 'string' ||
      typeof object.kind !== 'string' ||
      typeof metadata?.name !== 'string'
    ) {
      throw new UserError(`${source}: every object needs apiVersion, kind and metadata.name`, {
        hint: `a function starts with "apiVersion: ${API_VERSION}", "kind: ${WASM_FUNCTION_KIND}", "metadata: { name: … }"`,
      });
    }
    out.push({ source, object: object as Manifest['object'] });
  }
  return out;
}

function check(manifest: Manifest): string[] {
  const { object, source } = manifest;
  if (object.apiVersion !== API_VERSION) return [];
  const issues =
    object.kind === WASM_FUNCTION_KIND
      ? validateWasmFunction(object)
      : object.kind === EDGE_NODE_KIND
        ? validateEdgeNode(object)
        : [];
  return issues.map((i) => `${source}: ${object.kind} ${object.metadata.name}: ${i.path}: ${i.message}`);
}
