// SPDX-License-Identifier: Apache-2.0
// Turns the TypeBox schemas into CustomResourceDefinitions: plain structural OpenAPI v3 (no $ref,
// no TypeBox markers, enums instead of anyOf-of-consts), printer columns, short names and the
// status subresource. `npm run gen:crds` writes the result to crds/; a test checks for drift.
import type { TSchema } from 'typebox';
import { stringify } from 'yaml';
import * as C from './constants.ts';
import { EdgeNode } from './edgenode.ts';
import { WasmFunction } from './wasmfunction.ts';

/** A JSON Schema node as the API server reads it (JSONSchemaProps). */
export interface StructuralSchema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  description?: string;
  properties?: Record<string, StructuralSchema>;
  additionalProperties?: StructuralSchema;
  items?: StructuralSchema;
  required?: string[];
  enum?: (string | number)[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  maxProperties?: number;
  pattern?: string;
  format?: string;
  anyOf?: StructuralSchema[];
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-validations'?: { rule: string; message: string; fieldPath?: string; reason?: string }[];
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const ALLOWED_KEYS = new Set<string>([
  'type',
  'description',
  'properties',
  'additionalProperties',
  'items',
  'required',
  'enum',
  'default',
  'minimum',
  'maximum',
  'minLength',
  'maxLength',
  'minItems',
  'maxItems',
  'maxProperties',
  'pattern',
  'format',
  'anyOf',
  'x-kubernetes-int-or-string',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-validations',
]);

function isRecord(value: Json | undefined): value is { [key: string]: Json } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function valueType(value: Json): StructuralSchema['type'] {
  if (typeof value === 'string') return 'string';
  if (typeof value === 'boolean') return 'boolean';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  throw new Error(`unsupported enum value ${JSON.stringify(value)}`);
}

function convert(node: { [key: string]: Json }, where: string): StructuralSchema {
  const out: { [key: string]: Json } = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === '$id' || key === '$schema') continue;
    if (key === 'additionalProperties' && value === false) continue; // structural schemas reject unknown fields by pruning; kubectl's strict validation turns that into an error
    out[key] = value;
  }
  // TypeBox Literal -> single-value enum.
  if ('const' in out) {
    const value = out.const;
    delete out.const;
    out.enum = [value];
  }
  // Union of literals -> enum.
  const anyOf = out.anyOf;
  if (Array.isArray(anyOf) && out['x-kubernetes-int-or-string'] !== true) {
    const consts = anyOf.map((s) => (isRecord(s) && 'const' in s ? s.const : undefined));
    if (consts.some((c) => c === undefined))
      throw new Error(`${where}: anyOf is not structural; use StringEnum or IntOrString`);
    delete out.anyOf;
    out.enum = consts as Json[];
  }
  if (Array.isArray(out.enum) && out.type === undefined) {
    const types = new Set(out.enum.map(valueType));
    const [only] = types;
    if (types.size !== 1 || only === undefined) throw new Error(`${where}: enum mixes types`);
    out.type = only;
  }
  // TypeBox Record -> additionalProperties.
  const pattern = out.patternProperties;
  if (isRecord(pattern)) {
    const values = Object.values(pattern);
    if (values.length !== 1 || !isRecord(values[0]))
      throw new Error(`${where}: only Record(String, T) maps are supported`);
    out.additionalProperties = values[0];
    delete out.patternProperties;
  }
  for (const key of Object.keys(out)) {
    if (!ALLOWED_KEYS.has(key)) throw new Error(`${where}: schema keyword ${key} is not allowed in a CRD`);
  }
  if (isRecord(out.properties)) {
    const props: { [key: string]: Json } = {};
    for (const [name, child] of Object.entries(out.properties)) {
      if (!isRecord(child)) throw new Error(`${where}.${name}: not a schema`);
      props[name] = convert(child, `${where}.${name}`) as unknown as Json;
    }
    out.properties = props;
  }
  if (isRecord(out.additionalProperties))
    out.additionalProperties = convert(out.additionalProperties, `${where}[*]`) as unknown as Json;
  if (isRecord(out.items)) out.items = convert(out.items, `${where}[]`) as unknown as Json;
  if (Array.isArray(out.anyOf)) out.anyOf = out.anyOf.map((s) => (isRecord(s) ? s : {}));
  if (out.type === undefined && out['x-kubernetes-int-or-string'] !== true)
    throw new Error(`${where}: every schema needs a type`);
  return out;
}

/** The structural OpenAPI v3 schema of a resource, as put in its CRD. */
export function structuralSchema(schema: TSchema): StructuralSchema {
  const plain = JSON.parse(JSON.stringify(schema)) as { [key: string]: Json };
  const root = convert(plain, '');
  const properties = root.properties ?? {};
  // The API server validates ObjectMeta itself; apiVersion and kind are checked by the request path.
  properties.apiVersion = {
    type: 'string',
    description: 'APIVersion defines the versioned schema of this representation of an object.',
  };
  properties.kind = {
    type: 'string',
    description: 'Kind is a string value representing the REST resource this object represents.',
  };
  properties.metadata = { type: 'object' };
  const required = (root.required ?? []).filter(
    (r) => r !== 'apiVersion' && r !== 'kind' && r !== 'metadata',
  );
  return { ...root, properties, ...(required.length > 0 ? { required } : {}) };
}

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description?: string;
  priority?: number;
}

export interface CustomResourceDefinition {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string; labels: Record<string, string> };
  spec: {
    group: string;
    names: {
      kind: string;
      listKind: string;
      plural: string;
      singular: string;
      shortNames: string[];
      categories: string[];
    };
    scope: 'Namespaced' | 'Cluster';
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      subresources: { status: Record<string, never> };
      additionalPrinterColumns: PrinterColumn[];
      schema: { openAPIV3Schema: StructuralSchema };
    }[];
  };
}

const AGE: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };

export const WASM_FUNCTION_COLUMNS: PrinterColumn[] = [
  { name: 'Module', type: 'string', jsonPath: '.status.module', description: 'Resolved module source.' },
  {
    name: 'Ready',
    type: 'string',
    jsonPath: '.status.ready',
    description: 'Ready devices / desired devices.',
  },
  {
    name: 'Up-To-Date',
    type: 'integer',
    jsonPath: '.status.updatedNodes',
    description: 'Devices running the latest revision.',
  },
  { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
  AGE,
  { name: 'Mode', type: 'string', jsonPath: '.spec.placement.mode', priority: 1 },
  { name: 'Strategy', type: 'string', jsonPath: '.spec.rollout.strategy', priority: 1 },
  { name: 'Digest', type: 'string', jsonPath: '.status.moduleDigest', priority: 1 },
];

export const EDGE_NODE_COLUMNS: PrinterColumn[] = [
  { name: 'Status', type: 'string', jsonPath: '.status.phase', description: 'Online, Offline or Unknown.' },
  { name: 'Sensors', type: 'string', jsonPath: '.status.sensorSummary' },
  { name: 'Functions', type: 'integer', jsonPath: '.status.functionCount' },
  { name: 'Agent', type: 'string', jsonPath: '.status.agentVersion' },
  { name: 'Last-Seen', type: 'date', jsonPath: '.status.lastHeartbeat' },
  AGE,
  { name: 'Arch', type: 'string', jsonPath: '.status.arch', priority: 1 },
  { name: 'Cordoned', type: 'boolean', jsonPath: '.spec.unschedulable', priority: 1 },
];

function crd(args: {
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  shortNames: readonly string[];
  scope: 'Namespaced' | 'Cluster';
  schema: TSchema;
  columns: PrinterColumn[];
}): CustomResourceDefinition {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${args.plural}.${C.GROUP}`, labels: { 'app.kubernetes.io/part-of': 'wasmfleet' } },
    spec: {
      group: C.GROUP,
      names: {
        kind: args.kind,
        listKind: args.listKind,
        plural: args.plural,
        singular: args.singular,
        shortNames: [...args.shortNames],
        categories: [C.CATEGORY],
      },
      scope: args.scope,
      versions: [
        {
          name: C.VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: args.columns,
          schema: { openAPIV3Schema: structuralSchema(args.schema) },
        },
      ],
    },
  };
}

export function wasmFunctionCrd(): CustomResourceDefinition {
  return crd({
    kind: C.WASM_FUNCTION_KIND,
    listKind: C.WASM_FUNCTION_LIST_KIND,
    plural: C.WASM_FUNCTION_PLURAL,
    singular: C.WASM_FUNCTION_SINGULAR,
    shortNames: C.WASM_FUNCTION_SHORT_NAMES,
    scope: 'Namespaced',
    schema: WasmFunction,
    columns: WASM_FUNCTION_COLUMNS,
  });
}

export function edgeNodeCrd(): CustomResourceDefinition {
  return crd({
    kind: C.EDGE_NODE_KIND,
    listKind: C.EDGE_NODE_LIST_KIND,
    plural: C.EDGE_NODE_PLURAL,
    singular: C.EDGE_NODE_SINGULAR,
    shortNames: C.EDGE_NODE_SHORT_NAMES,
    scope: 'Cluster',
    schema: EdgeNode,
    columns: EDGE_NODE_COLUMNS,
  });
}

const HEADER =
  '# Generated by `npm run gen:crds` from api/src/resources. Do not edit; change the schema and regenerate.\n';

/** The CRD files the generator writes, relative to the repository root, with their exact content. */
export function crdFiles(): { path: string; content: string }[] {
  return [wasmFunctionCrd(), edgeNodeCrd()].map((c) => ({
    path: `crds/${c.metadata.name}.yaml`,
    content: HEADER + stringify(c, { lineWidth: 0, aliasDuplicateObjects: false }),
  }));
}
