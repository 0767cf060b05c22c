// SPDX-License-Identifier: Apache-2.0
// Starts one-command join from the operator's own settings: the join service on the broker the
// fleet bridge uses, token Secrets and device credentials in the identity namespace, and the
// `wasmfleet-join` ConfigMap that tells `wasmfleet nodes join` how devices reach the broker.
import type { CoreV1Api } from '@kubernetes/client-node';
import type { IClientOptions } from 'mqtt';
import type { Logger } from '@wasmfleet/api';
import type { FleetBridgeOptions } from '../bridge/fleet-bridge.ts';
import { ensureCredentials } from '../identity/credentials-secret.ts';
import { publishJoinSettings } from './join-settings.ts';
import { startJoinService, type JoinService } from './join-service.ts';

export interface IdentitySettings {
  readonly namespace: string;
  readonly deviceBrokerUrl?: string;
  readonly ca?: string;
}

/** The fleet bridge's broker settings as mqtt.js options, for the operator's other connections. */
export function mqttClientOptions(broker: FleetBridgeOptions): IClientOptions {
  return {
    protocolVersion: 5,
    ...(broker.clientId ? { clientId: broker.clientId } : {}),
    ...(broker.username ? { username: broker.username } : {}),
    ...(broker.password ? { password: broker.password } : {}),
    ...(broker.ca ? { ca: broker.ca } : {}),
    ...(broker.cert ? { cert: broker.cert } : {}),
    ...(broker.key ? { key: broker.key } : {}),
  };
}

export async function startDeviceJoin(
  broker: FleetBridgeOptions,
  identity: IdentitySettings,
  core: CoreV1Api,
  log: Logger,
): Promise<JoinService> {
  const secrets = {
    core,
    namespace: identity.namespace,
    ...(identity.deviceBrokerUrl ? { brokerUrl: identity.deviceBrokerUrl } : {}),
    ...(identity.ca ? { ca: identity.ca } : {}),
  };
  if (identity.deviceBrokerUrl) {
    await publishJoinSettings(core, identity.namespace, {
      broker: identity.deviceBrokerUrl,
      ...(identity.ca ? { ca: identity.ca } : {}),
    }).catch((error: unknown) =>
      log.warn(
        `cannot publish the join settings (ConfigMap wasmfleet-join): ${String(error)}; \`wasmfleet nodes join\` then needs --broker`,
      ),
    );
  }
  return startJoinService({
    url: broker.url,
    client: mqttClientOptions(broker),
    core,
    namespace: identity.namespace,
    dynamicSecurity: true,
    // The node reconciler makes the device's broker client when its EdgeNode appears; this reads
    // (or makes) the password that client has.
    credentials: async (node) => {
      const c = await ensureCredentials(secrets, node, undefined);
      return { username: c.username, password: c.password };
    },
    ...(identity.deviceBrokerUrl ? { deviceBrokerUrl: identity.deviceBrokerUrl } : {}),
    ...(identity.ca ? { ca: identity.ca } : {}),
    log,
  });
}
