// SPDX-License-Identifier: Apache-2.0
// Client-side validation that mirrors the API server: it walks the same structural schema the CRD
// carries (types, enums, bounds, patterns, required and unknown fields, list keys, defaults) and
// runs the TypeScript twin of every CEL rule with the same message. The CLI uses it to fail fast.
import { checkFor } from './cel.ts';
import type { ValidationIssue } from './common.ts';
import { API_VERSION, EDGE_NODE_KIND, WASM_FUNCTION_KIND } from './constants.ts';
import { edgeNodeCrd, wasmFunctionCrd, type StructuralSchema } from './crd.ts';

type Obj = Record<string, unknown>;

function isObj(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// The API server decodes a JSON number as an integer only when it fits an int64; a larger whole
// number (9.3e160, or 2^63 written out in digits) arrives as a float and fails `type: integer`.
const INT64_LIMIT = 2 ** 63;

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') {
    return Number.isInteger(value) && value >= -INT64_LIMIT && value < INT64_LIMIT ? 'integer' : 'number';
  }
  return typeof value;
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function typeMatches(schema: StructuralSchema, value: unknown): boolean {
  const t = typeOf(value);
  if (schema['x-kubernetes-int-or-string'] === true) return t === 'integer' || t === 'string';
  if (schema.type === 'number') return t === 'number' || t === 'integer';
  return schema.type === t;
}

/** Validates `value` against `schema`; returns the value with defaults applied. */
function walk(
  schema: StructuralSchema,
  input: unknown,
  path: string,
  issues: ValidationIssue[],
  rules: boolean,
): unknown {
  const issue = (message: string, at = path): void => {
    issues.push({ path: at, message });
  };
  if (!typeMatches(schema, input)) {
    issue(
      `must be of type ${schema['x-kubernetes-int-or-string'] === true ? 'integer or string' : (schema.type ?? 'unknown')}, got ${typeOf(input)}`,
    );
    return input;
  }
  let value = input;
  const before = issues.length;
  if (schema.enum && !schema.enum.includes(value as string | number)) {
    issue(
      `unsupported value ${JSON.stringify(value)}: supported values: ${schema.enum.map((v) => JSON.stringify(v)).join(', ')}`,
    );
  }
  if (typeof value === 'string') {
    if (schema.minLength !== undefined && value.length < schema.minLength)
      issue(`should be at least ${schema.minLength} chars long`);
    if (schema.maxLength !== undefined && value.length > schema.maxLength)
      issue(`may not be more than ${schema.maxLength} bytes`);
    if (schema.pattern !== undefined && !new RegExp(schema.pattern).test(value))
      issue(`should match '${schema.pattern}'`);
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum)
      issue(`should be greater than or equal to ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum)
      issue(`should be less than or equal to ${schema.maximum}`);
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems)
      issue(`should have at least ${schema.minItems} items`);
    if (schema.maxItems !== undefined && value.length > schema.maxItems)
      issue(`must have at most ${schema.maxItems} items`);
    const items = schema.items;
    const walked = items ? value.map((v, i) => walk(items, v, `${path}[${i}]`, issues, rules)) : value;
    const listType = schema['x-kubernetes-list-type'];
    if (listType === 'set' || listType === 'map') {
      const keys = schema['x-kubernetes-list-map-keys'] ?? [];
      const seen = new Set<string>();
      walked.forEach((v, i) => {
        const id = JSON.stringify(listType === 'map' && isObj(v) ? keys.map((k) => v[k]) : v);
        if (seen.has(id))
          issue(
            `duplicate entry ${listType === 'map' ? keys.map((k) => `${k}=${isObj(v) ? String(v[k]) : ''}`).join(', ') : id}`,
            `${path}[${i}]`,
          );
        seen.add(id);
      });
    }
    value = walked;
  }
  if (isObj(value)) {
    // Like the API server, null values of fields that are not nullable (none of ours are) are
    // pruned before defaulting and validation: `spec: {config: null}` means "no config".
    // Strict field validation still sees a null unknown field, so only known ones are pruned.
    const props = schema.properties;
    const out: Obj = Object.fromEntries(
      Object.entries(value).filter(([k, v]) => v !== null || (props !== undefined && !(k in props))),
    );
    if (props) {
      for (const [name, child] of Object.entries(props)) {
        if (!(name in out) && child.default !== undefined) out[name] = structuredClone(child.default);
      }
      for (const name of schema.required ?? []) if (!(name in out)) issue('Required value', join(path, name));
      for (const [name, v] of Object.entries(out)) {
        const child = props[name];
        if (child === undefined) issue(`unknown field "${join(path, name)}"`, join(path, name));
        else out[name] = walk(child, v, join(path, name), issues, rules);
      }
    } else if (schema.additionalProperties) {
      for (const [name, v] of Object.entries(out))
        out[name] = walk(schema.additionalProperties, v, join(path, name), issues, rules);
    }
    if (schema.maxProperties !== undefined && Object.keys(out).length > schema.maxProperties)
      issue(`must have at most ${schema.maxProperties} items`);
    value = out;
  }
  if (rules && issues.length === before) {
    for (const rule of schema['x-kubernetes-validations'] ?? []) {
      const check = checkFor(rule.rule);
      if (check === undefined) throw new Error(`CEL rule without a TypeScript twin: ${rule.rule}`);
      if (!check(value)) issue(rule.message, rule.fieldPath !== undefined ? path + rule.fieldPath : path);
    }
  }
  return value;
}

function validateResource(obj: unknown, kind: string, schema: StructuralSchema): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  if (!isObj(obj)) return [{ path: '', message: `a ${kind} must be an object` }];
  if (obj.apiVersion !== API_VERSION) issues.push({ path: 'apiVersion', message: `must be ${API_VERSION}` });
  if (obj.kind !== kind) issues.push({ path: 'kind', message: `must be ${kind}` });
  const metadata = obj.metadata;
  if (!isObj(metadata) || (typeof metadata.name !== 'string' && typeof metadata.generateName !== 'string')) {
    issues.push({ path: 'metadata.name', message: 'Required value: name or generateName is required' });
  }
  // Like the API server, CEL rules run only once the object matches the schema.
  walk(schema, obj, '', issues, false);
  if (issues.length === 0) walk(schema, obj, '', issues, true);
  return issues;
}

let wasmFunctionSchema: StructuralSchema | undefined;
let edgeNodeSchema: StructuralSchema | undefined;

function versionSchema(crd: ReturnType<typeof wasmFunctionCrd>): StructuralSchema {
  const [version] = crd.spec.versions;
  if (version === undefined) throw new Error('CRD without versions');
  return version.schema.openAPIV3Schema;
}

/**
 * Checks a WasmFunction manifest the way the API server would (schema and CEL rules) and returns
 * every problem found; an empty list means valid. Pure: the input is not modified.
 */
export function validateWasmFunction(obj: unknown): ValidationIssue[] {
  wasmFunctionSchema ??= versionSchema(wasmFunctionCrd());
  return validateResource(obj, WASM_FUNCTION_KIND, wasmFunctionSchema);
}

/** Checks an EdgeNode manifest the way the API server would. */
export function validateEdgeNode(obj: unknown): ValidationIssue[] {
  edgeNodeSchema ??= versionSchema(edgeNodeCrd());
  return validateResource(obj, EDGE_NODE_KIND, edgeNodeSchema);
}
