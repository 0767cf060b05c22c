// SPDX-License-Identifier: Apache-2.0
// Reading from the API server with node:https and the kubeconfig's own credentials
// (kube/kubeconfig.ts): what `get`, `describe` and `rollout status` need, without loading
// @kubernetes/client-node (docs/adr/0027). Credentials that only client-node understands (exec
// plugins, auth providers, proxies) are prepared by it, loaded for that call only.
import type { RequestOptions } from 'node:https';
import { ApiError, requestJson } from '@wasmfleet/local-stack';
import { diagnostics } from '../diagnostics.ts';
import type { KubeTarget } from './kubeconfig.ts';

export interface ApiClient {
  readonly server: string;
  /** GETs an API path (with its query) as JSON; an answer of 300 or more throws ApiError. */
  get<T>(path: string): Promise<T>;
}

export function apiClient(target: KubeTarget): ApiClient {
  let prepared: Promise<RequestOptions> | undefined;
  const options = (): Promise<RequestOptions> => (prepared ??= requestOptions(target));
  return {
    server: target.server,
    async get<T>(path: string): Promise<T> {
      const url = new URL(path, target.server);
      const started = performance.now();
      const { code, body } = await requestJson(url, { ...(await options()), method: 'GET' });
      diagnostics().debug(`GET ${url.href}`, {
        status: code,
        durationMs: Math.round(performance.now() - started),
      });
      if (code >= 300) throw new ApiError(code, body);
      return body as T;
    },
  };
}

async function requestOptions(target: KubeTarget): Promise<RequestOptions> {
  const headers = { accept: 'application/json', 'user-agent': 'wasmfleet' };
  const c = target.credentials;
  if (c) {
    return {
      headers: { ...headers, ...(c.token ? { authorization: `Bearer ${c.token}` } : {}) },
      ...(c.ca ? { ca: c.ca } : {}),
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
