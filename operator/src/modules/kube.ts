// SPDX-License-Identifier: Apache-2.0
// The Kubernetes reads the resolver needs, behind a two-method interface so it can be handed an
// informer cache, a direct client, or (in tests) the real API server.
import { ApiException, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';

/** Only the fields the resolver reads; client-node's V1ConfigMap/V1Secret fit this shape. */
export interface ConfigMapLike {
  readonly metadata?: { readonly resourceVersion?: string; readonly uid?: string };
  readonly data?: Readonly<Record<string, string>>;
  /** Values are base64, as on the wire. */
  readonly binaryData?: Readonly<Record<string, string>>;
}

export interface SecretLike {
  readonly metadata?: { readonly resourceVersion?: string; readonly uid?: string };
  readonly type?: string;
  /** Values are base64, as on the wire. */
  readonly data?: Readonly<Record<string, string>>;
}

export interface KubeReader {
  /** Resolves undefined when the object does not exist; rejects on any other problem. */
  getConfigMap(namespace: string, name: string): Promise<ConfigMapLike | undefined>;
  getSecret(namespace: string, name: string): Promise<SecretLike | undefined>;
}

/** A read that failed for a reason other than "not found"; `status` is the HTTP code if any. */
export class KubeReadError extends Error {
  readonly status: number | undefined;
  constructor(message: string, status: number | undefined, cause: unknown) {
    super(message, { cause });
    this.name = 'KubeReadError';
    this.status = status;
  }
}

async function readOrUndefined<T>(what: string, read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof ApiException && error.code === 404) return undefined;
    const status = error instanceof ApiException ? error.code : undefined;
    const detail = error instanceof Error ? error.message : String(error);
    throw new KubeReadError(`reading ${what} failed: ${detail}`, status, error);
  }
}

/** Direct reads through the API server (no cache); fine for resolution, which is itself cached. */
export function kubeReaderFromConfig(kubeConfig: KubeConfig): KubeReader {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  return {
    getConfigMap: (namespace, name) =>
      readOrUndefined(`ConfigMap ${namespace}/${name}`, () =>
        core.readNamespacedConfigMap({ namespace, name }),
      ),
    getSecret: (namespace, name) =>
      readOrUndefined(`Secret ${namespace}/${name}`, () => core.readNamespacedSecret({ namespace, name })),
  };
}
