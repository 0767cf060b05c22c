// SPDX-License-Identifier: Apache-2.0
// A function's identity on a device, apart from the desired-state schemas in desired.ts: a module
// that builds no TypeBox schema when it loads, so the CLI's reading commands (describe node, get
// nodes) keep TypeBox out of their startup snapshot (docs/adr/0053).

/** A function's identity on a node: `<namespace>/<name>`. */
export function functionKey(fn: { readonly namespace: string; readonly name: string }): string {
  return `${fn.namespace}/${fn.name}`;
}
