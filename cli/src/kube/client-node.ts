// SPDX-License-Identifier: Apache-2.0
// @kubernetes/client-node for the commands that write (apply, rollout pause/undo, nodes …) and
// for credentials only it understands; loaded on demand, never by `get`/`describe` (ADR 0027).
import { KubeConfig, KubernetesObjectApi } from '@kubernetes/client-node';
import { UserError } from '../errors.ts';
import type { KubeTarget } from './kubeconfig.ts';

export interface ClientNode {
  readonly config: KubeConfig;
  readonly objects: KubernetesObjectApi;
}

const loaded = new Map<KubeTarget, ClientNode>();

/** client-node configured with the same file and context as `target`. */
export function clientNodeFor(target: KubeTarget): ClientNode {
  const known = loaded.get(target);
  if (known) return known;
  const config = new KubeConfig();
  try {
    if (target.file === undefined) config.loadFromCluster();
    else {
      config.loadFromFile(target.file);
      config.setCurrentContext(target.contextName);
    }
  } catch (error) {
    throw new UserError(
      `cannot read kubeconfig ${target.file ?? '(in-cluster)'}: ${(error as Error).message}`,
      {
        hint: 'check the file is a valid kubeconfig (`kubectl config view`)',
        cause: error,
      },
    );
  }
  const client = { config, objects: KubernetesObjectApi.makeApiClient(config) };
  loaded.set(target, client);
  return client;
}
