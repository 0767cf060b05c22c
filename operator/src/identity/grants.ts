// SPDX-License-Identifier: Apache-2.0
// What one device may do on the broker, as Mosquitto dynamic-security ACLs: read its own desired
// document and the module blobs it was told to run, write its own status and log lines, and the
// data topics of the functions placed on it (subscribe its inputs, publish its outputs). Pure:
// the operator turns the result into role commands (dynsec.ts) before publishing a document.
import {
  WIRE_PREFIX,
  desiredTopic,
  expandNode,
  moduleTopic,
  statusTopic,
  type DesiredFunction,
} from '@wasmfleet/api';

export type AclType =
  | 'publishClientSend'
  | 'publishClientReceive'
  | 'subscribeLiteral'
  | 'subscribePattern'
  | 'unsubscribeLiteral'
  | 'unsubscribePattern';

export interface Acl {
  readonly acltype: AclType;
  readonly topic: string;
  /** Higher is checked first; the first matching ACL decides. */
  readonly priority: number;
  readonly allow: boolean;
}

/** The device's own control topics: checked before anything else. */
export const CONTROL_PRIORITY = 20;
/**
 * Denies every other `wasmfleet/` topic, ahead of the user data topics: a function whose input
 * is `#` must not hand its device the other devices' desired documents (they carry config and
 * secrets) or let it forge their status.
 */
export const RESERVED_PRIORITY = 10;
export const DATA_PRIORITY = 0;

/** The role that carries one device's ACLs (one role per device, named after it). */
export function deviceRoleName(node: string): string {
  return `wasmfleet-device-${node}`;
}

/** The node id of a device role, or undefined for any other role. */
export function nodeOfRole(rolename: string): string | undefined {
  return rolename.startsWith('wasmfleet-device-') ? rolename.slice('wasmfleet-device-'.length) : undefined;
}

/**
 * `extraPublish`: topics (with `{node}`) every device may publish besides its functions'
 * outputs, e.g. `sensors/{node}/#` when a device publishes its own sensor readings.
 */
export function deviceAcls(
  node: string,
  functions: readonly DesiredFunction[],
  extraPublish: readonly string[] = [],
): Acl[] {
  const acls = new Map<string, Acl>();
  const add = (acltype: AclType, topic: string, priority: number, allow = true): void => {
    acls.set(aclKey({ acltype, topic }), { acltype, topic, priority, allow });
  };
  const read = (filter: string, priority: number): void => {
    // Subscribing to exactly this filter, and receiving what matches it. Receiving is granted
    // explicitly (the broker's default denies it), so revoking it stops an existing subscription.
    add('subscribeLiteral', filter, priority);
    add('publishClientReceive', filter, priority);
  };

  read(desiredTopic(node), CONTROL_PRIORITY);
  add('publishClientSend', statusTopic(node), CONTROL_PRIORITY);
  add('publishClientSend', `${WIRE_PREFIX}/logs/+/+/${node}`, CONTROL_PRIORITY);
  for (const fn of functions) read(moduleTopic(fn.module.sha256), CONTROL_PRIORITY);

  for (const acltype of ['publishClientSend', 'publishClientReceive'] as const) {
    // All of wasmfleet/ is reserved (every contract version), not only v1.
    add(acltype, 'wasmfleet/#', RESERVED_PRIORITY, false);
  }

  for (const fn of functions) {
    for (const input of fn.inputs) {
      const filter = expandNode(input.topic, node);
      if (!acls.has(aclKey({ acltype: 'subscribeLiteral', topic: filter }))) read(filter, DATA_PRIORITY);
    }
    for (const output of fn.outputs) {
      const topic = expandNode(output.topic, node);
      if (!acls.has(aclKey({ acltype: 'publishClientSend', topic })))
        add('publishClientSend', topic, DATA_PRIORITY);
    }
  }
  for (const topic of extraPublish) {
    const expanded = expandNode(topic, node);
    if (!acls.has(aclKey({ acltype: 'publishClientSend', topic: expanded })))
      add('publishClientSend', expanded, DATA_PRIORITY);
  }
  return [...acls.values()].sort((a, b) => (aclKey(a) < aclKey(b) ? -1 : 1));
}

/** Identity of an ACL within a role (Mosquitto keeps one entry per type and topic). */
export function aclKey(acl: Pick<Acl, 'acltype' | 'topic'>): string {
  return `${acl.acltype} ${acl.topic}`;
}

export interface AclChange {
  readonly add: Acl[];
  readonly remove: Acl[];
}

/** What to add and remove to turn `current` into `wanted` (a changed priority or allow is both). */
export function diffAcls(current: readonly Acl[], wanted: readonly Acl[]): AclChange {
  const have = new Map(current.map((a) => [aclKey(a), a]));
  const want = new Map(wanted.map((a) => [aclKey(a), a]));
  const add: Acl[] = [];
  const remove: Acl[] = [];
  for (const [key, acl] of want) {
    const old = have.get(key);
    if (!old) add.push(acl);
    else if (old.priority !== acl.priority || old.allow !== acl.allow) {
      remove.push(old);
      add.push(acl);
    }
  }
  for (const [key, acl] of have) if (!want.has(key)) remove.push(acl);
  return { add, remove };
}
