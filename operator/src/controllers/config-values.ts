// SPDX-License-Identifier: Apache-2.0
// A function's configuration: its configMapRef and secretRef data with spec.config on top, read
// from the informer caches. Pure over the objects it is given.
import type { V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import type { WasmFunctionSpec } from '@wasmfleet/api';

export type ConfigResult =
  | { readonly ok: true; readonly config: Record<string, string> }
  | { readonly ok: false; readonly reason: 'ConfigMapNotFound' | 'SecretNotFound'; readonly message: string };

export function resolveConfig(
  namespace: string,
  spec: WasmFunctionSpec,
  lookup: {
    configMap(ns: string, name: string): V1ConfigMap | undefined;
    secret(ns: string, name: string): V1Secret | undefined;
  },
): ConfigResult {
  const config: Record<string, string> = {};
  if (spec.configMapRef) {
    const cm = lookup.configMap(namespace, spec.configMapRef.name);
    if (!cm) {
      return {
        ok: false,
        reason: 'ConfigMapNotFound',
        message: `configMapRef: ConfigMap ${namespace}/${spec.configMapRef.name} does not exist; create it or fix spec.configMapRef.name`,
      };
    }
    Object.assign(config, cm.data ?? {});
  }
  if (spec.secretRef) {
    const secret = lookup.secret(namespace, spec.secretRef.name);
    if (!secret) {
      return {
        ok: false,
        reason: 'SecretNotFound',
        message: `secretRef: Secret ${namespace}/${spec.secretRef.name} does not exist; create it or fix spec.secretRef.name`,
      };
    }
    for (const [key, value] of Object.entries(secret.data ?? {}))
      config[key] = Buffer.from(value, 'base64').toString('utf8');
    Object.assign(config, secret.stringData ?? {});
  }
  Object.assign(config, spec.config ?? {});
  return { ok: true, config };
}
