// SPDX-License-Identifier: Apache-2.0
// A KubeConfig whose API clients (a) name this replica in their User-Agent, so the API server's
// audit log tells replicas apart, and (b) ask the write fence before every non-read request.
// Watches (Watch/ListWatch use applyToFetchOptions, not these clients) and reads pass freely:
// a standby may read, only the leader may write.
import {
  ServerConfiguration,
  createConfiguration,
  type ApiConstructor,
  type ApiType,
  type RequestContext,
} from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import type { WriteFence } from './fence.ts';
import { PooledKubeConfig } from './pooled-kubeconfig.ts';

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface ClientIdentity {
  /** e.g. `wasmfleet-operator (pod-7f9c-x2k4)`. */
  readonly userAgent: string;
  readonly fence: WriteFence;
}

// Pooled too: requests share the base config's connections when it is a PooledKubeConfig.
export class FencedKubeConfig extends PooledKubeConfig {
  readonly #identity: ClientIdentity;

  constructor(base: KubeConfig, identity: ClientIdentity) {
    super(base instanceof PooledKubeConfig ? base : undefined);
    this.loadFromOptions({
      clusters: base.clusters,
      contexts: base.contexts,
      users: base.users,
      currentContext: base.currentContext,
    });
    this.#identity = identity;
  }

  override makeApiClient<T extends ApiType>(apiClientType: ApiConstructor<T>): T {
    const cluster = this.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig has no current cluster; set current-context');
    const { userAgent, fence } = this.#identity;
    const config = createConfiguration({
      baseServer: new ServerConfiguration(cluster.server, {}),
      authMethods: { default: this },
      // Middleware runs after authentication, right before the request is sent: the latest
      // moment the fence can be asked.
      promiseMiddleware: [
        {
          pre: (context: RequestContext) => {
            const method = context.getHttpMethod().toUpperCase();
            if (!READS.has(method)) fence.check(`${method} ${new URL(context.getUrl()).pathname}`);
            context.setHeaderParam('User-Agent', userAgent);
            return Promise.resolve(context);
          },
          post: (response) => Promise.resolve(response),
        },
      ],
    });
    return new apiClientType(config);
  }
}
