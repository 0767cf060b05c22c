// SPDX-License-Identifier: Apache-2.0
// How devices reach the fleet, for `wasmfleet nodes join` to put into the command it prints: the
// ConfigMap `wasmfleet-join` in the identity namespace with the broker URL devices use and the CA
// that signs the broker's certificate (public material: no credentials).
import type { CoreV1Api, V1ConfigMap } from '@kubernetes/client-node';
import { isConflict, isNotFound } from '../kube/index.ts';

export const JOIN_SETTINGS_CONFIGMAP = 'wasmfleet-join';

export async function publishJoinSettings(
  core: CoreV1Api,
  namespace: string,
  settings: { readonly broker: string; readonly ca?: string },
): Promise<void> {
  const metadata = {
    name: JOIN_SETTINGS_CONFIGMAP,
    namespace,
    labels: { 'app.kubernetes.io/managed-by': 'wasmfleet-operator' },
  };
  const body: V1ConfigMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata,
    data: { broker: settings.broker, ...(settings.ca ? { 'ca.crt': settings.ca } : {}) },
  };
  try {
    const current = await core.readNamespacedConfigMap({ namespace, name: JOIN_SETTINGS_CONFIGMAP });
    if (JSON.stringify(current.data ?? {}) === JSON.stringify(body.data)) return;
    await core.replaceNamespacedConfigMap({
      namespace,
      name: JOIN_SETTINGS_CONFIGMAP,
      body: {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        data: body.data,
        metadata: { ...metadata, resourceVersion: current.metadata?.resourceVersion },
      },
    });
  } catch (error) {
    if (!isNotFound(error)) throw error;
    await core.createNamespacedConfigMap({ namespace, body }).catch((e: unknown) => {
      if (!isConflict(e)) throw e; // another replica made it
    });
  }
}
