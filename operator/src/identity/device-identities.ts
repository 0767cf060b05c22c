// SPDX-License-Identifier: Apache-2.0
// Keeps the broker's picture of every device in step with what the operator tells it: one
// dynamic-security client per EdgeNode (user name = node id, password from its Secret) and one
// role per device whose ACLs are exactly deviceAcls() of the functions it runs. Widened BEFORE a
// desired document that needs more is published; narrowed once the device reports that the
// functions that needed the old grants are gone (a replaced revision keeps running until its
// successor is Running, so narrowing at publish time would cut its outputs off).
import {
  functionKey,
  type DesiredFunction,
  type DesiredState,
  type Logger,
  type NodeStatus,
} from '@wasmfleet/api';
import { ensureCredentials, type CredentialsSecretOptions } from './credentials-secret.ts';
import { Dynsec, isAlreadyThere, isNotFound } from './dynsec.ts';
import { aclKey, deviceAcls, deviceRoleName, diffAcls, nodeOfRole, type Acl } from './grants.ts';

export interface DeviceIdentitiesOptions {
  readonly dynsec: Dynsec;
  readonly secrets: CredentialsSecretOptions;
  /** The EdgeNode's uid (owner of its Secret), or undefined when there is no EdgeNode. */
  readonly edgeNodeUid: (node: string) => string | undefined;
  readonly log: Logger;
  /** Topics (with `{node}`) every device may publish besides its outputs, e.g. its own sensors. */
  readonly extraPublish?: readonly string[];
}

const fnKey = (f: Pick<DesiredFunction, 'namespace' | 'name' | 'revision'>): string =>
  `${functionKey(f)}@${f.revision}`;

export class DeviceIdentities {
  readonly #o: DeviceIdentitiesOptions;
  /** Devices whose client and role exist on the broker (since the last (re)connect). */
  readonly #ready = new Set<string>();
  /** node → the ACLs its role holds now (since the last (re)connect). */
  readonly #applied = new Map<string, readonly Acl[]>();
  /** node → its newest document (granted before it was published). */
  readonly #current = new Map<string, DesiredState>();
  /** node → functions of earlier documents the device may still run (until it reports otherwise). */
  readonly #leaving = new Map<string, DesiredFunction[]>();
  /** One chain per device, so two reconciles never interleave its role commands. */
  readonly #chains = new Map<string, Promise<unknown>>();

  constructor(options: DeviceIdentitiesOptions) {
    this.#o = options;
  }

  /** The broker may have lost or changed state (reconnect): check everything again. */
  forgetBrokerState(): void {
    this.#ready.clear();
    this.#applied.clear();
  }

  /**
   * Makes the device's client, role and Secret exist with the grants it should have now: those
   * of `published` (the document on the broker, adopted unless a newer one was granted already)
   * and of earlier functions its `report` says it still runs.
   */
  sync(node: string, published: DesiredState | undefined, report: NodeStatus | undefined): Promise<void> {
    return this.#serial(node, async () => {
      if (published && published.generation > (this.#current.get(node)?.generation ?? 0)) {
        this.#current.set(node, published);
      }
      const leaving = this.#leaving.get(node);
      if (leaving && leaving.length > 0) {
        const running = new Set(report?.state === 'online' ? (report.functions ?? []).map(fnKey) : []);
        this.#leaving.set(
          node,
          leaving.filter((f) => running.has(fnKey(f))),
        );
      }
      await this.#sync(node);
    });
  }

  /** Call before publishing `next`: grants what it needs, keeping what `previous` still uses. */
  beforePublish(next: DesiredState, previous: DesiredState | undefined): Promise<void> {
    return this.#serial(next.node, async () => {
      const still = new Set(next.functions.map(fnKey));
      const leaving = [...(this.#leaving.get(next.node) ?? []), ...(previous?.functions ?? [])].filter(
        (f) => !still.has(fnKey(f)),
      );
      this.#leaving.set(next.node, dedupe(leaving));
      this.#current.set(next.node, next);
      await this.#sync(next.node);
    });
  }

  /** The EdgeNode is gone: its client and role go too (its Secret goes with the EdgeNode). */
  remove(node: string): Promise<void> {
    return this.#serial(node, async () => {
      this.#ready.delete(node);
      this.#applied.delete(node);
      this.#current.delete(node);
      this.#leaving.delete(node);
      await this.#o.dynsec.run(
        [
          { command: 'deleteClient', username: node },
          { command: 'deleteRole', rolename: deviceRoleName(node) },
        ],
        isNotFound,
      );
    });
  }

  /** Removes device roles and clients whose EdgeNode no longer exists (deleted while we were away). */
  async sweep(exists: (node: string) => boolean): Promise<string[]> {
    const gone = (await this.#o.dynsec.listRoles())
      .map(nodeOfRole)
      .filter((n): n is string => n !== undefined && !exists(n));
    for (const node of gone) await this.remove(node);
    return gone;
  }

  /** The ACLs the device's role should hold now. */
  wanted(node: string): Acl[] {
    return deviceAcls(
      node,
      dedupe([...(this.#current.get(node)?.functions ?? []), ...(this.#leaving.get(node) ?? [])]),
      this.#o.extraPublish,
    );
  }

  async #sync(node: string): Promise<void> {
    const wanted = this.wanted(node);
    if (!this.#ready.has(node)) await this.#create(node, wanted);
    const current = this.#applied.get(node) ?? (await this.#o.dynsec.roleAcls(deviceRoleName(node))) ?? [];
    const { add, remove } = diffAcls(current, wanted);
    if (add.length + remove.length > 0) {
      // One modifyRole replaces the whole list at once: no moment with half the change, and one
      // write of the plugin's configuration file instead of one per ACL. It does not disconnect
      // the device (Mosquitto 2.0); grants take effect on its next subscribe and delivery.
      await this.#o.dynsec.run([{ command: 'modifyRole', rolename: deviceRoleName(node), acls: wanted }]);
      this.#o.log.info(
        `device ${node}: +${add.length} -${remove.length} ACLs, now ${wanted.length} (${
          wanted
            .filter((a) => a.priority === 0)
            .map((a) => aclKey(a))
            .join(', ') || 'no data topics'
        })`,
      );
    }
    this.#applied.set(node, wanted);
  }

  async #create(node: string, acls: readonly Acl[]): Promise<void> {
    const credentials = await ensureCredentials(this.#o.secrets, node, { uid: this.#o.edgeNodeUid(node) });
    const rolename = deviceRoleName(node);
    const [role, client] = await this.#o.dynsec.run(
      [
        { command: 'createRole', rolename, textname: `WasmFleet device ${node}`, acls },
        {
          command: 'createClient',
          username: node,
          password: credentials.password,
          textname: `WasmFleet device ${node}`,
          roles: [{ rolename }],
        },
      ],
      isAlreadyThere,
    );
    if (role?.error === undefined) this.#applied.set(node, acls);
    if (client?.error !== undefined && credentials.created) {
      // The client outlived its Secret (someone deleted the Secret): the new password wins.
      await this.#o.dynsec.run([
        { command: 'setClientPassword', username: node, password: credentials.password },
      ]);
    }
    if (client?.error !== undefined && !(await this.#o.dynsec.clientRoles(node)).includes(rolename)) {
      await this.#o.dynsec.run([{ command: 'addClientRole', username: node, rolename }]);
    }
    this.#ready.add(node);
  }

  #serial(node: string, work: () => Promise<void>): Promise<void> {
    const previous = this.#chains.get(node) ?? Promise.resolve();
    const next = previous.then(work, work);
    const settled = next.catch(() => undefined);
    this.#chains.set(node, settled);
    void settled.then(() => {
      if (this.#chains.get(node) === settled) this.#chains.delete(node);
    });
    return next;
  }
}

function dedupe(functions: readonly DesiredFunction[]): DesiredFunction[] {
  return [...new Map(functions.map((f) => [fnKey(f), f])).values()];
}
