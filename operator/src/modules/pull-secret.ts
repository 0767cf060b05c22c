// SPDX-License-Identifier: Apache-2.0
// Reads `module.pullSecretRef` (a dockerconfigjson Secret in the function's namespace) and
// picks the credentials for the artifact's registry.
import {
  credentialsFromDockerConfig,
  ModuleResolutionError,
  normalizeRegistryKey,
  type RegistryCredentials,
} from '@wasmfleet/oci';
import { kubeReadFailure } from './configmap-source.ts';
import type { KubeReader } from './kube.ts';

export async function readPullSecret(
  kube: KubeReader,
  namespace: string,
  name: string,
  registry: string,
): Promise<RegistryCredentials> {
  const what = `Secret ${namespace}/${name}`;
  let secret;
  try {
    secret = await kube.getSecret(namespace, name);
  } catch (error) {
    throw kubeReadFailure(error, what);
  }
  if (secret === undefined) {
    throw new ModuleResolutionError(
      'MissingReference',
      `${what} (module.pullSecretRef) does not exist: create it with kubectl -n ${namespace} create secret docker-registry ${name} --docker-server=${registry} --docker-username=… --docker-password=…`,
    );
  }
  const credentials = credentialsFromDockerConfig(`${namespace}/${name}`, secret.type, secret.data, registry);
  if (credentials === undefined) {
    let entries = '';
    try {
      const raw = secret.data?.['.dockerconfigjson'];
      const parsed =
        raw === undefined
          ? undefined
          : (JSON.parse(Buffer.from(raw, 'base64').toString('utf8')) as { auths?: Record<string, unknown> });
      entries = Object.keys(parsed?.auths ?? {})
        .map(normalizeRegistryKey)
        .join(', ');
    } catch {
      // Already parsed once above; this only enriches the message.
    }
    throw new ModuleResolutionError(
      'MissingReference',
      `${what} (module.pullSecretRef) has no credentials for registry ${registry}${entries ? ` (it has: ${entries})` : ''}`,
    );
  }
  return credentials;
}
