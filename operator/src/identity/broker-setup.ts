// SPDX-License-Identifier: Apache-2.0
// One-time broker setup for per-device identity, on its own short connection (changing the
// operator's own roles makes Mosquitto disconnect that client): nothing may be done by default,
// and the operator's user gets the role that lets it read and write every topic.
import mqtt, { type IClientOptions } from 'mqtt';
import { DYNSEC_RESPONSE_TOPIC, Dynsec, isAlreadyThere } from './dynsec.ts';
import { diffAcls, type Acl } from './grants.ts';

export const OPERATOR_ROLE = 'wasmfleet-operator';

const OPERATOR_ACLS: Acl[] = (['publishClientSend', 'publishClientReceive', 'subscribePattern'] as const).map(
  (acltype) => ({ acltype, topic: '#', priority: 0, allow: true }),
);

/**
 * Deny by default, receiving included: a device's role grants `publishClientReceive` per topic,
 * so removing a grant also stops a subscription the device already holds.
 */
const DEFAULT_ACCESS = [
  { acltype: 'publishClientSend', allow: false },
  { acltype: 'publishClientReceive', allow: false },
  { acltype: 'subscribe', allow: false },
  { acltype: 'unsubscribe', allow: true },
] as const;

/** Applies the setup when it differs from what the broker holds (a no-op on every later start). */
export async function prepareBroker(url: string, options: IClientOptions): Promise<void> {
  const username = options.username;
  if (!username) {
    throw new Error(
      'per-device identity needs the operator to log in with the broker admin user: pass --broker-username and --broker-password-file',
    );
  }
  const client = await mqtt.connectAsync(url, {
    ...options,
    clientId: `${options.clientId ?? 'wasmfleet-operator'}-setup`,
    clean: true,
    reconnectPeriod: 0,
  });
  const dynsec = new Dynsec(client);
  client.on('message', (topic, payload) => {
    if (topic === DYNSEC_RESPONSE_TOPIC) dynsec.handle(payload);
  });
  try {
    await client.subscribeAsync(DYNSEC_RESPONSE_TOPIC, { qos: 1 });
    const [defaults] = await dynsec.run([{ command: 'getDefaultACLAccess' }]);
    const have = (defaults?.data as { acls?: { acltype: string; allow: boolean }[] } | undefined)?.acls ?? [];
    if (DEFAULT_ACCESS.some((d) => !have.some((h) => h.acltype === d.acltype && h.allow === d.allow))) {
      await dynsec.run([{ command: 'setDefaultACLAccess', acls: DEFAULT_ACCESS }]);
    }
    await dynsec.run(
      [{ command: 'createRole', rolename: OPERATOR_ROLE, textname: 'WasmFleet operator' }],
      isAlreadyThere,
    );
    const { add, remove } = diffAcls((await dynsec.roleAcls(OPERATOR_ROLE)) ?? [], OPERATOR_ACLS);
    await dynsec.run([
      ...add.map((a) => ({ command: 'addRoleACL', rolename: OPERATOR_ROLE, ...a })),
      ...remove.map((a) => ({
        command: 'removeRoleACL',
        rolename: OPERATOR_ROLE,
        acltype: a.acltype,
        topic: a.topic,
      })),
    ]);
    if (!(await dynsec.clientRoles(username)).includes(OPERATOR_ROLE)) {
      // Last: Mosquitto disconnects a client whose roles change, i.e. this connection, and may do
      // so before its answer arrives. Either is success; the bridge's own login then has the role.
      const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
      await Promise.race([
        dynsec.run([{ command: 'addClientRole', username, rolename: OPERATOR_ROLE }]),
        closed,
      ]);
    }
  } catch (error) {
    throw new Error(
      `cannot set up per-device identity on ${url}: the operator's user ${username} must be the dynamic-security admin (mosquitto_ctrl dynsec init <file> ${username})`,
      { cause: error },
    );
  } finally {
    dynsec.close('setup finished');
    client.end(true);
  }
}
