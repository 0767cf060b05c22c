// SPDX-License-Identifier: Apache-2.0
// The Kubernetes context a command works in: kube/kubeconfig.ts's target (file, context,
// namespace, server, credentials) with a light reader, and — for commands that write — the
// same target in @kubernetes/client-node, loaded only when asked (docs/adr/0027).
import type { ApiClient } from './api-client.ts';
import type { ClientNode } from './client-node.ts';
import type { KubeTarget } from './kubeconfig.ts';

export { chooseKubeconfig } from './kubeconfig.ts';

/** Everything but client-node: enough to read. */
export interface KubeContext extends KubeTarget {
  readonly api: ApiClient;
}

/** With client-node: what the writing commands use. */
export type FullKubeContext = KubeContext & ClientNode;
