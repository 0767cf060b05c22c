// SPDX-License-Identifier: Apache-2.0
// A function's revision: a content hash of everything a device runs (module digest, config,
// inputs, outputs, limits). Any change makes a new revision; an unchanged spec never does, so a
// resync or an operator restart republishes nothing.
import { createHash } from 'node:crypto';
import type { DesiredFunction } from '@wasmfleet/api';

export type RevisionContent = Omit<DesiredFunction, 'revision'>;

export function revisionOf(content: RevisionContent & { readonly salt?: string }): string {
  return createHash('sha256').update(canonicalJson(content)).digest('hex').slice(0, 12);
}

/** JSON with object keys sorted, so equal content hashes equally whatever the key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
