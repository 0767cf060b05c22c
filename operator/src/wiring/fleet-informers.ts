// SPDX-License-Identifier: Apache-2.0
// The four kinds the operator caches — WasmFunctions (in its namespace scope), EdgeNodes (of its
// fleet), and the ConfigMaps and Secrets functions reference — started together and synced
// before anything reads them.
import type { KubeConfig, KubernetesObject, V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import { EDGE_NODE_PLURAL, GROUP, VERSION, WASM_FUNCTION_PLURAL, type Logger } from '@wasmfleet/api';
import { FLEET_LABEL } from '../controllers/fleet-context.ts';
import { configMapSource, customResourceSource, Informer, secretSource } from '../kube/index.ts';
import type { Cleanups } from './cleanups.ts';

export interface FleetInformers {
  readonly functions: Informer<KubernetesObject>;
  readonly nodes: Informer<KubernetesObject>;
  readonly configMaps: Informer<V1ConfigMap>;
  readonly secrets: Informer<V1Secret>;
}

export interface InformerScope {
  readonly namespace?: string;
  readonly fleet?: string;
}

/** How long the first list of every kind may take before the operator gives up starting. */
const CACHE_SYNC_TIMEOUT_MS = 120_000;

export async function startInformers(
  kc: KubeConfig,
  scope: InformerScope,
  log: Logger,
  cleanups: Cleanups,
): Promise<FleetInformers> {
  const onError = (what: string) => (error: unknown, inMs: number) =>
    log.warn(`${what} watch failed, restarting in ${inMs} ms: ${String(error)}`);
  const namespaceScope = scope.namespace ? { namespace: scope.namespace } : {};
  const fleet = scope.fleet;
  const informers: FleetInformers = {
    functions: new Informer<KubernetesObject>(
      kc,
      customResourceSource(
        kc,
        { group: GROUP, version: VERSION, plural: WASM_FUNCTION_PLURAL },
        namespaceScope,
      ),
      { onError: onError('wasmfunctions') },
    ),
    nodes: new Informer<KubernetesObject>(
      kc,
      customResourceSource(
        kc,
        { group: GROUP, version: VERSION, plural: EDGE_NODE_PLURAL },
        fleet ? { labelSelector: `${FLEET_LABEL}=${fleet}` } : {},
      ),
      { onError: onError('edgenodes') },
    ),
    configMaps: new Informer<V1ConfigMap>(kc, configMapSource(kc, namespaceScope), {
      onError: onError('configmaps'),
    }),
    secrets: new Informer<V1Secret>(kc, secretSource(kc, namespaceScope), {
      onError: onError('secrets'),
    }),
  };
  const all = [informers.functions, informers.nodes, informers.configMaps, informers.secrets];
  cleanups.push(async () => {
    await Promise.all(all.map((i) => i.stop()));
  });
  for (const informer of all) informer.start();
  await Promise.all(all.map((i) => i.waitForCacheSync(CACHE_SYNC_TIMEOUT_MS)));
  return informers;
}
