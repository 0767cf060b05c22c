// SPDX-License-Identifier: Apache-2.0
// Kubeconfig files for a local control plane.
import { stringify } from 'yaml';

/** A single-cluster, single-user kubeconfig authenticating with a bearer token. */
export function kubeconfigYaml(input: {
  server: string;
  caPem: string;
  token: string;
  user: string;
  /** The context's name (default: the user's name). */
  context?: string;
  /** The cluster's name (default: wasmfleet-test). */
  cluster?: string;
}): string {
  const cluster = input.cluster ?? 'wasmfleet-test';
  const context = input.context ?? input.user;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: cluster,
        cluster: {
          server: input.server,
          'certificate-authority-data': Buffer.from(input.caPem).toString('base64'),
        },
      },
    ],
    users: [{ name: input.user, user: { token: input.token } }],
    contexts: [{ name: context, context: { cluster, user: input.user, namespace: 'default' } }],
    'current-context': context,
  });
}
