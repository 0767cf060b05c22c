// SPDX-License-Identifier: Apache-2.0
// Reads one WasmFunction (typed) through the generic object API.
import type { KubernetesObject } from '@kubernetes/client-node';
import {
  API_VERSION,
  WASM_FUNCTION_KIND,
  type WasmFunctionSpec,
  type WasmFunctionStatus,
} from '@wasmfleet/api';
import type { KubeContext } from '../kube/context.ts';

export interface FunctionObject extends KubernetesObject {
  metadata: NonNullable<KubernetesObject['metadata']> & { name: string; namespace: string };
  spec: WasmFunctionSpec;
  status?: WasmFunctionStatus;
}

export function functionHeader(name: string, namespace: string) {
  return { apiVersion: API_VERSION, kind: WASM_FUNCTION_KIND, metadata: { name, namespace } };
}

export async function readFunction(
  kube: KubeContext,
  name: string,
  namespace: string,
): Promise<FunctionObject> {
  const object = await kube.objects.read<KubernetesObject>(functionHeader(name, namespace));
  return object as FunctionObject;
}

/** `wasmfunction.wasmfleet.io/<name>`, the way kubectl names objects in its messages. */
export function functionRef(name: string): string {
  return `wasmfunction.wasmfleet.io/${name}`;
}
