// SPDX-License-Identifier: Apache-2.0
// The Kubernetes Secret that holds one device's MQTT credentials: the operator generates the
// password once, the broker learns it through dynamic security, and an installer reads it back
// (`wasmfleet nodes credentials <node>`). Owned by the EdgeNode, so deleting the device deletes it.
import { createHash, randomBytes } from 'node:crypto';
import type { CoreV1Api, V1Secret } from '@kubernetes/client-node';
import { API_VERSION, EDGE_NODE_KIND } from '@wasmfleet/api';
import { describeError, isAlreadyExists, isNotFound, statusCodeOf } from '../kube/index.ts';

const NODE_ANNOTATION = 'wasmfleet.io/node';
const CREDENTIALS_LABEL = 'wasmfleet.io/mqtt-credentials';

/** `wasmfleet-mqtt-<node>`, or a digest of the node id when that would be too long a name. */
export function credentialsSecretName(node: string): string {
  const name = `wasmfleet-mqtt-${node}`;
  if (name.length <= 253) return name;
  return `wasmfleet-mqtt-${createHash('sha256').update(node).digest('hex').slice(0, 40)}`;
}

export interface DeviceCredentials {
  readonly username: string;
  readonly password: string;
  /** True when this call made the Secret (the broker must learn the new password). */
  readonly created: boolean;
}

export interface CredentialsSecretOptions {
  readonly core: CoreV1Api;
  readonly namespace: string;
  /** Copied into the Secret so the installer hands the device everything it needs. */
  readonly brokerUrl?: string;
  readonly ca?: string;
}

/** Reads the device's Secret, creating it with a fresh password when it does not exist. */
export async function ensureCredentials(
  options: CredentialsSecretOptions,
  node: string,
  owner: { readonly uid?: string } | undefined,
): Promise<DeviceCredentials> {
  const name = credentialsSecretName(node);
  const existing = await readSecret(options, name);
  const password = existing?.data?.password;
  if (password)
    return { username: node, password: Buffer.from(password, 'base64').toString('utf8'), created: false };
  const fresh = randomBytes(24).toString('base64url');
  const body: V1Secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name,
      namespace: options.namespace,
      labels: { [CREDENTIALS_LABEL]: 'true', 'app.kubernetes.io/managed-by': 'wasmfleet-operator' },
      annotations: { [NODE_ANNOTATION]: node },
      ...(owner?.uid
        ? {
            ownerReferences: [{ apiVersion: API_VERSION, kind: EDGE_NODE_KIND, name: node, uid: owner.uid }],
          }
        : {}),
    },
    type: 'Opaque',
    stringData: {
      username: node,
      password: fresh,
      ...(options.brokerUrl ? { broker: options.brokerUrl } : {}),
      ...(options.ca ? { 'ca.crt': options.ca } : {}),
    },
  };
  try {
    await options.core.createNamespacedSecret({ namespace: options.namespace, body });
  } catch (error) {
    // Another replica (or the chart, for simulated devices) made it first: use theirs.
    if (isAlreadyExists(error)) {
      const theirs = (await readSecret(options, name))?.data?.password;
      if (theirs)
        return { username: node, password: Buffer.from(theirs, 'base64').toString('utf8'), created: false };
    }
    const why =
      statusCodeOf(error) === 403
        ? `the operator's ServiceAccount may not create Secrets in ${options.namespace} (the chart's Role grants it; --identity-namespace names the namespace)`
        : `${describeError(error)}; retrying with the next reconcile`;
    throw new Error(
      `cannot create the MQTT credentials Secret ${options.namespace}/${name} for device ${node}: ${why}`,
      {
        cause: error,
      },
    );
  }
  return { username: node, password: fresh, created: true };
}

async function readSecret(options: CredentialsSecretOptions, name: string): Promise<V1Secret | undefined> {
  try {
    return await options.core.readNamespacedSecret({ namespace: options.namespace, name });
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw new Error(`cannot read the MQTT credentials Secret ${options.namespace}/${name}`, { cause: error });
  }
}
