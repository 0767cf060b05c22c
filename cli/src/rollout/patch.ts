// SPDX-License-Identifier: Apache-2.0
// Merge patches on a WasmFunction: spec.paused and the rollout annotations. A resourceVersion
// in the patch makes the API server refuse it (409) if the object changed since it was read.
import { PatchStrategy, type KubernetesObject } from '@kubernetes/client-node';
import { functionHeader } from '../functions/read.ts';
import type { KubeContext } from '../kube/context.ts';

export interface FunctionPatch {
  readonly annotations?: Readonly<Record<string, string | null>>;
  readonly paused?: boolean;
  readonly resourceVersion?: string;
}

export async function patchFunction(
  kube: KubeContext,
  name: string,
  namespace: string,
  patch: FunctionPatch,
): Promise<void> {
  const header = functionHeader(name, namespace);
  const body = {
    ...header,
    metadata: {
      ...header.metadata,
      ...(patch.annotations ? { annotations: patch.annotations } : {}),
      ...(patch.resourceVersion ? { resourceVersion: patch.resourceVersion } : {}),
    },
    ...(patch.paused !== undefined ? { spec: { paused: patch.paused } } : {}),
  };
  await kube.objects.patch(
    body as KubernetesObject,
    undefined,
    undefined,
    'wasmfleet',
    undefined,
    PatchStrategy.MergePatch,
  );
}
