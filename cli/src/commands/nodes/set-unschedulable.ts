// SPDX-License-Identifier: Apache-2.0
// Shared by `nodes cordon` and `nodes uncordon`: both merge-patch spec.unschedulable.
import { PatchStrategy, type KubernetesObject } from '@kubernetes/client-node';
import { API_VERSION, EDGE_NODE_KIND } from '@wasmfleet/api';
import type { KubeContext } from '../../kube/context.ts';

export async function setUnschedulable(
  kube: KubeContext,
  name: string,
  unschedulable: boolean,
): Promise<boolean> {
  const header = { apiVersion: API_VERSION, kind: EDGE_NODE_KIND, metadata: { name } };
  const current = await kube.objects.read<KubernetesObject & { spec?: { unschedulable?: boolean } }>(header);
  if ((current.spec?.unschedulable ?? false) === unschedulable) return false;
  await kube.objects.patch(
    { ...header, spec: { unschedulable } },
    undefined,
    undefined,
    'wasmfleet',
    undefined,
    PatchStrategy.MergePatch,
  );
  return true;
}
