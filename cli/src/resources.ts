// SPDX-License-Identifier: Apache-2.0
// The kinds the CLI knows, with the same columns as the CRDs' printer columns (so `wasmfleet get`
// and `kubectl get` agree), and the names users may type for them.
import {
  API_VERSION,
  EDGE_NODE_COLUMNS,
  EDGE_NODE_KIND,
  EDGE_NODE_PLURAL,
  EDGE_NODE_SHORT_NAMES,
  EDGE_NODE_SINGULAR,
  GROUP,
  WASM_FUNCTION_COLUMNS,
  WASM_FUNCTION_KIND,
  WASM_FUNCTION_PLURAL,
  WASM_FUNCTION_SHORT_NAMES,
  WASM_FUNCTION_SINGULAR,
  type PrinterColumn,
} from '@wasmfleet/api';
import { UserError } from './errors.ts';
import type { Column, Resource } from './output/render.ts';

export interface Kind extends Resource {
  readonly apiVersion: string;
  readonly namespaced: boolean;
  readonly names: readonly string[];
}

function columns(printer: readonly PrinterColumn[]): Column[] {
  return printer.map((c) => ({
    name: c.name.toUpperCase(),
    value: c.jsonPath,
    type:
      c.type === 'date'
        ? 'date'
        : /phase|status/i.test(c.name)
          ? 'phase'
          : c.type === 'integer'
            ? 'integer'
            : 'string',
    wide: (c.priority ?? 0) > 0,
  }));
}

export const FUNCTIONS: Kind = {
  kind: WASM_FUNCTION_KIND,
  plural: WASM_FUNCTION_PLURAL,
  group: GROUP,
  apiVersion: API_VERSION,
  namespaced: true,
  names: [
    'functions',
    'function',
    'fn',
    WASM_FUNCTION_PLURAL,
    WASM_FUNCTION_SINGULAR,
    ...WASM_FUNCTION_SHORT_NAMES,
  ],
  columns: columns(WASM_FUNCTION_COLUMNS),
};

export const NODES: Kind = {
  kind: EDGE_NODE_KIND,
  plural: EDGE_NODE_PLURAL,
  group: GROUP,
  apiVersion: API_VERSION,
  namespaced: false,
  names: [
    'nodes',
    'node',
    'devices',
    'device',
    EDGE_NODE_PLURAL,
    EDGE_NODE_SINGULAR,
    ...EDGE_NODE_SHORT_NAMES,
  ],
  columns: columns(EDGE_NODE_COLUMNS),
};

export const KINDS = [FUNCTIONS, NODES] as const;

export function kindByName(name: string): Kind {
  const kind = KINDS.find((k) => k.names.includes(name.toLowerCase()));
  if (!kind) {
    throw new UserError(`unknown resource type "${name}"`, {
      hint: `use one of: ${KINDS.map((k) => k.names.slice(0, 3).join('|')).join(', ')}`,
    });
  }
  return kind;
}
