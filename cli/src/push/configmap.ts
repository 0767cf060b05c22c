// SPDX-License-Identifier: Apache-2.0
// Stores a module in a ConfigMap's binaryData (server-side apply, so pushing again updates it).
import { PatchStrategy } from '@kubernetes/client-node';
import { UserError } from '../errors.ts';
import type { KubeContext } from '../kube/context.ts';
import type { ModuleFile } from './module-file.ts';

/** A ConfigMap holds at most 1 MiB of data (the API server's limit). */
export const CONFIGMAP_LIMIT = 1024 * 1024;

export function checkConfigMapSize(module: ModuleFile): void {
  if (module.bytes.byteLength > CONFIGMAP_LIMIT) {
    throw new UserError(
      `${module.path} is ${module.bytes.byteLength} bytes, more than a ConfigMap holds (1 MiB)`,
      { hint: 'push it to an OCI registry instead: --oci registry.example/org/name:tag' },
    );
  }
}

export async function storeInConfigMap(
  kube: KubeContext,
  module: ModuleFile,
  target: { name: string; namespace: string; key: string },
): Promise<void> {
  checkConfigMapSize(module);
  const object = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: target.name,
      namespace: target.namespace,
      labels: { 'app.kubernetes.io/managed-by': 'wasmfleet' },
      annotations: { 'wasmfleet.io/sha256': module.sha256 },
    },
    binaryData: { [target.key]: Buffer.from(module.bytes).toString('base64') },
  };
  await kube.objects.patch(object, undefined, undefined, 'wasmfleet', true, PatchStrategy.ServerSideApply);
}
