// SPDX-License-Identifier: Apache-2.0
// Per-device MQTT identities (ADR 0012) and one-command join (ADR 0031), when the operator
// manages the broker's dynamic security: identities follow the EdgeNodes, are checked again after
// the broker restarts, and those of deleted devices are swept at start.
import { CoreV1Api, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import type { EdgeNode, Logger } from '@wasmfleet/api';
import type { FleetBridge, FleetBridgeOptions } from '../bridge/fleet-bridge.ts';
import type { Cache } from '../controllers/typed-cache.ts';
import { DeviceIdentities } from '../identity/device-identities.ts';
import { startDeviceJoin } from '../join/device-join-wiring.ts';
import type { Informer, WorkQueue } from '../kube/index.ts';
import type { Cleanups } from './cleanups.ts';

/**
 * Per-device MQTT identity (ADR 0012): a dynamic-security client and role per EdgeNode, its
 * password in the Secret `wasmfleet-mqtt-<node>` in `namespace`. Needs Mosquitto's dynamic
 * security plugin with the operator's user as its admin.
 */
export interface IdentityOptions {
  readonly namespace: string;
  /** The broker URL devices use, copied into each Secret for the installer. */
  readonly deviceBrokerUrl?: string;
  /** The CA devices verify the broker with (PEM), copied into each Secret. */
  readonly ca?: string;
  /** Topics (with `{node}`) every device may publish besides its outputs, e.g. `sensors/{node}/#`. */
  readonly devicePublish?: readonly string[];
}

export interface IdentityWiring {
  readonly kc: KubeConfig;
  readonly broker: FleetBridgeOptions;
  readonly bridge: FleetBridge;
  readonly nodes: Cache<EdgeNode>;
  readonly nodeInformer: Pick<Informer<KubernetesObject>, 'on'>;
  readonly nodeQueue: Pick<WorkQueue, 'add'>;
  readonly log: Logger;
  readonly cleanups: Cleanups;
}

/** Undefined when the operator does not manage identities (no `identity` option, no dynsec). */
export async function startDeviceIdentities(
  identity: IdentityOptions | undefined,
  w: IdentityWiring,
): Promise<DeviceIdentities | undefined> {
  const { bridge, nodes, log } = w;
  if (!identity || !bridge.dynsec) return undefined;
  const identities = new DeviceIdentities({
    dynsec: bridge.dynsec,
    secrets: {
      core: w.kc.makeApiClient(CoreV1Api),
      namespace: identity.namespace,
      ...(identity.deviceBrokerUrl ? { brokerUrl: identity.deviceBrokerUrl } : {}),
      ...(identity.ca ? { ca: identity.ca } : {}),
    },
    edgeNodeUid: (node) => nodes.get(undefined, node)?.metadata.uid,
    log,
    ...(identity.devicePublish ? { extraPublish: identity.devicePublish } : {}),
  });
  bridge.on('connection', (state) => {
    if (state !== 'connected') return;
    // The broker may have restarted without its state: check every device again.
    identities.forgetBrokerState();
    for (const node of nodes.list()) w.nodeQueue.add(node.metadata.name ?? '');
  });
  w.nodeInformer.on((type, obj) => {
    const name = obj.metadata?.name ?? '';
    if (type === 'delete')
      void identities
        .remove(name)
        .catch((e: unknown) => log.error(`removing the identity of ${name}: ${String(e)}`));
  });
  const removed = await identities.sweep((node) => nodes.get(undefined, node) !== undefined);
  if (removed.length > 0) log.info(`removed the broker identities of deleted devices: ${removed.join(', ')}`);
  // One-command join (docs/adr/0031): needs the per-device identity it hands out.
  const join = await startDeviceJoin(w.broker, identity, w.kc.makeApiClient(CoreV1Api), log);
  w.cleanups.push(() => join.close());
  return identities;
}
