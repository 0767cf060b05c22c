// SPDX-License-Identifier: Apache-2.0
// Reading from the API server with node:https and the kubeconfig's own credentials
// (kube/kubeconfig.ts): what `get`, `describe` and `rollout status` need, without loading
// @kubernetes/client-node (docs/adr/0027). Credentials that only client-node understands (exec
// plugins, auth providers, proxies) are prepared by it, loaded for that call only.
import type { RequestOptions } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiError, requestJson } from '@wasmfleet/local-stack';
import { diagnostics } from '../diagnostics.ts';
import { trustAsDefault } from './ca-trust.ts';
import type { KubeTarget } from './kubeconfig.ts';

export interface ApiClient {
  readonly server: string;
  /** GETs an API path (with its query) as JSON; an answer of 300 or more throws ApiError. */
  get<T>(path: string): Promise<T>;
}

/**
 * As kubectl (client-go) does: an answer of 429 or 5xx that says when to come back (Retry-After)
 * is asked again then, up to 10 times — e.g. "429 storage is (re)initializing" from an API server
 * whose CRD was just created or changed, which `wasmfleet dev up` does right before a user's first
 * `wasmfleet get`.
 */
const MAX_RETRIES = 10;
const retriable = (code: number): boolean => code === 429 || (code >= 500 && code < 600);

export function apiClient(target: KubeTarget): ApiClient {
  let prepared: Promise<RequestOptions> | undefined;
  const options = (): Promise<RequestOptions> => (prepared ??= requestOptions(target));
  return {
    server: target.server,
    async get<T>(path: string): Promise<T> {
      const url = new URL(path, target.server);
      for (let retries = 0; ; retries++) {
        // Not performance.now(): the global `performance` loads perf_hooks (nine modules) at its
        // first use, which the startup snapshot cannot hold (docs/adr/0053).
        const started = process.hrtime.bigint();
        const { code, body, retryAfterSeconds } = await requestJson(url, {
          ...(await options()),
          method: 'GET',
        });
        diagnostics().debug(`GET ${url.href}`, {
          status: code,
          durationMs: Math.round(Number(process.hrtime.bigint() - started) / 1e6),
        });
        if (retryAfterSeconds !== undefined && retriable(code) && retries < MAX_RETRIES) {
          await sleep(retryAfterSeconds * 1000);
          continue;
        }
        if (code >= 300) throw new ApiError(code, body);
        return body as T;
      }
    },
  };
}

async function requestOptions(target: KubeTarget): Promise<RequestOptions> {
  const headers = { accept: 'application/json', 'user-agent': 'wasmfleet' };
  const c = target.credentials;
  if (c) {
    return {
      headers: { ...headers, ...(c.token ? { authorization: `Bearer ${c.token}` } : {}) },
      ...(c.ca && !trustAsDefault(c.ca) ? { ca: c.ca } : {}),
      ...(c.cert ? { cert: c.cert } : {}),
      ...(c.key ? { key: c.key } : {}),
      rejectUnauthorized: c.rejectUnauthorized,
      ...(c.servername ? { servername: c.servername } : {}),
    };
  }
  const { clientNodeFor } = await import('./client-node.ts');
  const options: RequestOptions = { headers };
  await clientNodeFor(target).config.applyToHTTPSOptions(options);
  return options;
}
