// SPDX-License-Identifier: Apache-2.0
// What an informer watches: the API path of a collection and a paged list function, per kind.
// ListWatch (client-node) needs both: it lists through the typed API client and watches the raw
// path. Selectors live here because the list and the watch must use the same ones.
import {
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type V1ConfigMap,
  type V1Secret,
} from '@kubernetes/client-node';

export interface ResourceSource<T extends KubernetesObject> {
  /** Collection path for the watch, e.g. /api/v1/namespaces/x/configmaps. */
  readonly path: string;
  /** A short name for logs and errors, e.g. "configmaps in plant-1". */
  readonly description: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /** Lists the whole collection (all pages) with the selectors above. */
  list(): Promise<KubernetesListObject<T>>;
}

export interface SourceScope {
  /** Omit for all namespaces (or for cluster-scoped kinds). */
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /** Items per list page (client-go's reflector uses 500). */
  readonly pageSize?: number;
}

interface Page<T extends KubernetesObject> {
  readonly items: T[];
  readonly metadata?: { resourceVersion?: string; _continue?: string };
}

interface PageQuery {
  labelSelector?: string;
  fieldSelector?: string;
  limit: number;
  _continue?: string;
}

/** Follows `continue` tokens so a big collection is read in bounded requests. */
async function listAllPages<T extends KubernetesObject>(
  scope: SourceScope,
  description: string,
  fetchPage: (query: PageQuery) => Promise<Page<T>>,
): Promise<KubernetesListObject<T>> {
  const items: T[] = [];
  let token: string | undefined;
  let resourceVersion: string | undefined;
  do {
    const query: PageQuery = { limit: scope.pageSize ?? 500 };
    if (scope.labelSelector !== undefined) query.labelSelector = scope.labelSelector;
    if (scope.fieldSelector !== undefined) query.fieldSelector = scope.fieldSelector;
    if (token) query._continue = token;
    let page: Page<T>;
    try {
      page = await fetchPage(query);
    } catch (error) {
      throw new Error(`listing ${description} failed`, { cause: error });
    }
    items.push(...page.items);
    // Every page of one paged list is served from the same snapshot, so any page's version
    // is the list's version; the last one is as good as the first.
    resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
    token = page.metadata?._continue;
  } while (token);
  return { items, metadata: { resourceVersion } };
}

function describe(kind: string, namespace: string | undefined): string {
  return namespace ? `${kind} in namespace ${namespace}` : `${kind} in all namespaces`;
}

function baseSource(
  scope: SourceScope,
): Pick<ResourceSource<KubernetesObject>, 'labelSelector' | 'fieldSelector'> {
  const selectors: { labelSelector?: string; fieldSelector?: string } = {};
  if (scope.labelSelector !== undefined) selectors.labelSelector = scope.labelSelector;
  if (scope.fieldSelector !== undefined) selectors.fieldSelector = scope.fieldSelector;
  return selectors;
}

export function configMapSource(kc: KubeConfig, scope: SourceScope = {}): ResourceSource<V1ConfigMap> {
  const api = kc.makeApiClient(CoreV1Api);
  const { namespace } = scope;
  const description = describe('configmaps', namespace);
  return {
    ...baseSource(scope),
    path: namespace ? `/api/v1/namespaces/${namespace}/configmaps` : '/api/v1/configmaps',
    description,
    list: () =>
      listAllPages(scope, description, (q) =>
        namespace ? api.listNamespacedConfigMap({ namespace, ...q }) : api.listConfigMapForAllNamespaces(q),
      ),
  };
}

export function secretSource(kc: KubeConfig, scope: SourceScope = {}): ResourceSource<V1Secret> {
  const api = kc.makeApiClient(CoreV1Api);
  const { namespace } = scope;
  const description = describe('secrets', namespace);
  return {
    ...baseSource(scope),
    path: namespace ? `/api/v1/namespaces/${namespace}/secrets` : '/api/v1/secrets',
    description,
    list: () =>
      listAllPages(scope, description, (q) =>
        namespace ? api.listNamespacedSecret({ namespace, ...q }) : api.listSecretForAllNamespaces(q),
      ),
  };
}

/** Identifies a custom resource kind: `plural.group/version`. */
export interface CustomResourceKind {
  readonly group: string;
  readonly version: string;
  readonly plural: string;
}

/**
 * Custom resources, namespaced or cluster-scoped. For a cluster-scoped kind leave
 * `scope.namespace` unset; for a namespaced kind unset means all namespaces.
 */
export function customResourceSource<T extends KubernetesObject>(
  kc: KubeConfig,
  kind: CustomResourceKind,
  scope: SourceScope = {},
): ResourceSource<T> {
  const api = kc.makeApiClient(CustomObjectsApi);
  const { group, version, plural } = kind;
  const { namespace } = scope;
  const description = describe(`${plural}.${group}`, namespace);
  return {
    ...baseSource(scope),
    path: namespace
      ? `/apis/${group}/${version}/namespaces/${namespace}/${plural}`
      : `/apis/${group}/${version}/${plural}`,
    description,
    list: () =>
      listAllPages(scope, description, async (q) => {
        // The custom-objects API is untyped (any); check the envelope before trusting it.
        const body: unknown = namespace
          ? await api.listNamespacedCustomObject({ group, version, plural, namespace, ...q })
          : await api.listClusterCustomObject({ group, version, plural, ...q });
        return asPage<T>(body, description);
      }),
  };
}

function asPage<T extends KubernetesObject>(body: unknown, description: string): Page<T> {
  if (typeof body !== 'object' || body === null || !Array.isArray((body as { items?: unknown }).items)) {
    throw new Error(`listing ${description} returned something that is not a list`);
  }
  return body as Page<T>;
}
