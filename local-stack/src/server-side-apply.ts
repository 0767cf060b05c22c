// SPDX-License-Identifier: Apache-2.0
// Server-side apply that sends the object exactly as written. client-node's typed serializer
// rewrites built-in kinds through its models, and drops keys such as `x-kubernetes-int-or-string`
// in a CRD's schema — which makes the API server reject the CRD — so apply goes over HTTPS here.
// Used by `wasmfleet apply` and by the local stack (CRDs, sample functions).
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

export interface ApplyObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string | undefined };
}

export interface ApplyOptions {
  readonly fieldManager: string;
  readonly force?: boolean | undefined;
  readonly dryRun?: boolean | undefined;
}

/** An answer of the API server that is not a success: its status code and body. */
export class ApiError extends Error {
  readonly code: number;
  readonly body: unknown;
  constructor(code: number, body: unknown) {
    const message =
      typeof body === 'object' && body !== null && 'message' in body ? String(body.message) : `HTTP ${code}`;
    super(message);
    this.code = code;
    this.body = body;
  }
}

interface ResourceInfo {
  readonly name: string;
  readonly namespaced: boolean;
}

const discovery = new Map<string, Promise<Map<string, ResourceInfo>>>();

export async function serverSideApply(
  kube: KubeConfig,
  object: ApplyObject,
  options: ApplyOptions,
): Promise<Record<string, unknown>> {
  const resource = await resourceFor(kube, object.apiVersion, object.kind);
  const base = object.apiVersion.includes('/') ? `/apis/${object.apiVersion}` : `/api/${object.apiVersion}`;
  const ns = resource.namespaced ? `/namespaces/${object.metadata.namespace ?? 'default'}` : '';
  const query = new URLSearchParams({ fieldManager: options.fieldManager });
  if (options.force) query.set('force', 'true');
  if (options.dryRun) query.set('dryRun', 'All');
  const { code, body } = await request(
    kube,
    'PATCH',
    `${base}${ns}/${resource.name}/${object.metadata.name}?${query.toString()}`,
    JSON.stringify(object),
  );
  if (code >= 300) throw new ApiError(code, body);
  return body as Record<string, unknown>;
}

/** GETs an API path as JSON; undefined for 404. */
export async function readResource(kube: KubeConfig, apiPath: string): Promise<unknown> {
  const { code, body } = await request(kube, 'GET', apiPath);
  if (code === 404) return undefined;
  if (code >= 300) throw new ApiError(code, body);
  return body;
}

/**
 * The resource a kind is served as, from the API server's discovery, remembered per apiVersion. A
 * kind missing from a remembered answer is asked for once more, as kubectl does: discovery lags a
 * CRD's Established condition, and an answer taken while a group's CRDs were still being added
 * lists only some of its kinds (dev up once failed on "no resource type for kind WasmFunction").
 */
export async function resourceFor(kube: KubeConfig, apiVersion: string, kind: string): Promise<ResourceInfo> {
  const remembered = discovery.get(apiVersion);
  const known = remembered ? (await remembered.catch(() => undefined))?.get(kind) : undefined;
  if (known) return known;
  if (remembered) discovery.delete(apiVersion);
  const info = (await discover(kube, apiVersion)).get(kind);
  if (!info)
    throw new ApiError(404, {
      message: `the server doesn't have a resource type for kind ${kind} in ${apiVersion}`,
    });
  return info;
}

function discover(kube: KubeConfig, apiVersion: string): Promise<Map<string, ResourceInfo>> {
  let resources = discovery.get(apiVersion);
  if (resources) return resources;
  const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  resources = request(kube, 'GET', path).then(({ code, body }) => {
    if (code >= 300) throw new ApiError(code, body);
    const list =
      (body as { resources?: { name: string; kind: string; namespaced: boolean }[] }).resources ?? [];
    return new Map(
      list
        .filter((r) => !r.name.includes('/'))
        .map((r) => [r.kind, { name: r.name, namespaced: r.namespaced }]),
    );
  });
  // A failed discovery (a group not served yet) is asked again next time, not remembered.
  resources.catch(() => discovery.delete(apiVersion));
  discovery.set(apiVersion, resources);
  return resources;
}

async function request(
  kube: KubeConfig,
  method: string,
  path: string,
  body?: string,
): Promise<{ code: number; body: unknown }> {
  const cluster = kube.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  const options: https.RequestOptions = {
    method,
    headers:
      body === undefined
        ? { accept: 'application/json' }
        : { accept: 'application/json', 'content-type': 'application/apply-patch+yaml' },
  };
  await kube.applyToHTTPSOptions(options);
  return requestJson(new URL(path, cluster.server), options, body);
}

/** An answer: its status code, its body (parsed when it is JSON) and its Retry-After in whole seconds. */
export interface JsonAnswer {
  readonly code: number;
  readonly body: unknown;
  readonly retryAfterSeconds?: number;
}

/** One HTTPS request and its answer. */
export function requestJson(url: URL, options: https.RequestOptions, body?: string): Promise<JsonAnswer> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, options, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          // not JSON: keep the text for the error message
        }
        const retryAfter = res.headers['retry-after'];
        const seconds = retryAfter !== undefined && /^\d+$/.test(retryAfter) ? Number(retryAfter) : undefined;
        resolve({
          code: res.statusCode ?? 0,
          body: parsed,
          ...(seconds === undefined ? {} : { retryAfterSeconds: seconds }),
        });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}
