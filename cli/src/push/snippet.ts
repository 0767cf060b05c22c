// SPDX-License-Identifier: Apache-2.0
// The WasmFunction `wasmfleet push` prints, ready to apply once its topics are edited. Pure.
import { stringify } from 'yaml';
import { API_VERSION, WASM_FUNCTION_KIND, type ModuleSource } from '@wasmfleet/api';

export function functionObject(name: string, namespace: string, module: ModuleSource): object {
  return {
    apiVersion: API_VERSION,
    kind: WASM_FUNCTION_KIND,
    metadata: { name, namespace },
    spec: {
      module,
      placement: { sensors: ['temperature'] },
      inputs: [{ topic: 'sensors/{node}/temperature', qos: 1, format: 'senml' }],
      outputs: [{ topic: `${name}/{node}/out`, qos: 1 }],
    },
  };
}

export function functionSnippet(name: string, namespace: string, module: ModuleSource): string {
  return `# A WasmFunction that runs it: edit placement, inputs and outputs, then \`wasmfleet apply -f\`.\n${stringify(functionObject(name, namespace, module))}`;
}

/** A DNS-1123 name from a file name: `Temp_Alert.v2.wasm` → `temp-alert-v2`. */
export function nameFromFile(file: string): string {
  const base = file.split(/[\\/]/).at(-1) ?? file;
  const name = base
    .replace(/\.wasm$/i, '')
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return name === '' ? 'my-function' : name;
}
