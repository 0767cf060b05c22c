// SPDX-License-Identifier: Apache-2.0
// A KubeConfig whose API requests share one connection pool. client-node 2.x builds a new undici
// Agent (a new pool) inside applySecurityAuthentication for every request, unlike its cached
// https.Agent of old: each request then pays a TLS handshake and leaves its socket open until
// the orphaned pool's keep-alive runs out. At the operator's steady request rate that was
// hundreds of open sockets and an RSS growing by hundreds of MiB an hour (found by test/soak;
// docs/reliability.md, "Soak"). Here every request gets the first dispatcher built for the
// current server and user, so connections are reused as client-go reuses them.
import { KubeConfig, type RequestContext } from '@kubernetes/client-node';

type Dispatcher = NonNullable<ReturnType<RequestContext['getDispatcher']>>;

export class PooledKubeConfig extends KubeConfig {
  readonly #pools: Map<string, Dispatcher>;

  /** `sharePoolWith`: use that config's pool, so wrappers (fenced clients) add no connections. */
  constructor(sharePoolWith?: PooledKubeConfig) {
    super();
    this.#pools = sharePoolWith ? sharePoolWith.#pools : new Map<string, Dispatcher>();
  }

  /** A pooled copy of `kc` (same clusters, users and contexts). */
  static from(kc: KubeConfig): PooledKubeConfig {
    const pooled = new PooledKubeConfig();
    pooled.loadFromOptions({
      clusters: kc.clusters,
      users: kc.users,
      contexts: kc.contexts,
      currentContext: kc.currentContext,
    });
    return pooled;
  }

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    const fresh = context.getDispatcher();
    if (fresh === undefined) return; // plain http: the global dispatcher pools already
    const key = JSON.stringify([this.getCurrentCluster()?.server, this.getCurrentUser()?.name]);
    const pooled = this.#pools.get(key);
    if (pooled === undefined) {
      this.#pools.set(key, fresh);
      return;
    }
    context.setDispatcher(pooled);
    // Never connected, so nothing to wait for; closing frees its connector at once.
    void fresh.close().catch(() => undefined);
  }

  /** Closes the pooled connections (watches included); later requests build a new pool. */
  async close(): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.allSettled(pools.map((p) => p.destroy()));
  }
}
