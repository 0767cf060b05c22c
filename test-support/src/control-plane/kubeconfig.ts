// SPDX-License-Identifier: Apache-2.0
import { stringify } from 'yaml';

/** A single-cluster, single-user kubeconfig authenticating with a bearer token. */
export function kubeconfigYaml(input: {
  server: string;
  caPem: string;
  token: string;
  user: string;
}): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'wasmfleet-test',
        cluster: {
          server: input.server,
          'certificate-authority-data': Buffer.from(input.caPem).toString('base64'),
        },
      },
    ],
    users: [{ name: input.user, user: { token: input.token } }],
    contexts: [
      { name: input.user, context: { cluster: 'wasmfleet-test', user: input.user, namespace: 'default' } },
    ],
    'current-context': input.user,
  });
}
