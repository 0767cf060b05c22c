// SPDX-License-Identifier: Apache-2.0
// Adds and removes the operator's finalizer with a resourceVersion-guarded merge patch, so a
// concurrent writer makes the patch fail (409) instead of silently losing a finalizer.
import { PatchStrategy, setHeaderOptions, type CustomObjectsApi } from '@kubernetes/client-node';
import { GROUP, VERSION, WASM_FUNCTION_PLURAL, type WasmFunction } from '@wasmfleet/api';

export const FINALIZER = 'wasmfleet.io/cleanup';
const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export function hasFinalizer(fn: WasmFunction): boolean {
  return fn.metadata.finalizers?.includes(FINALIZER) ?? false;
}

export async function setFinalizers(
  api: CustomObjectsApi,
  fn: WasmFunction,
  finalizers: string[],
): Promise<void> {
  await api.patchNamespacedCustomObject(
    {
      group: GROUP,
      version: VERSION,
      plural: WASM_FUNCTION_PLURAL,
      namespace: fn.metadata.namespace ?? 'default',
      name: fn.metadata.name ?? '',
      body: { metadata: { finalizers, resourceVersion: fn.metadata.resourceVersion } },
    },
    MERGE_PATCH,
  );
}

export const addFinalizer = (api: CustomObjectsApi, fn: WasmFunction) =>
  setFinalizers(api, fn, [...(fn.metadata.finalizers ?? []), FINALIZER]);

export const removeFinalizer = (api: CustomObjectsApi, fn: WasmFunction) =>
  setFinalizers(
    api,
    fn,
    (fn.metadata.finalizers ?? []).filter((f) => f !== FINALIZER),
  );
