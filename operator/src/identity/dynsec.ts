// SPDX-License-Identifier: Apache-2.0
// A client for Mosquitto's dynamic security plugin: JSON commands published to
// `$CONTROL/dynamic-security/v1`, answers on `.../response` matched by correlation data. Over the
// operator's own MQTT connection, so managing identities needs no other channel or dependency.
import { randomUUID } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import { unfenced, type WriteFence } from '../kube/fence.ts';
import type { Acl } from './grants.ts';

export const DYNSEC_TOPIC = '$CONTROL/dynamic-security/v1';
export const DYNSEC_RESPONSE_TOPIC = `${DYNSEC_TOPIC}/response`;

export interface DynsecCommand {
  readonly command: string;
  readonly [field: string]: unknown;
}

export interface DynsecResponse {
  readonly command: string;
  readonly error?: string;
  readonly data?: unknown;
}

export class DynsecError extends Error {
  readonly command: string;
  readonly reason: string;
  constructor(command: string, reason: string) {
    super(`the broker refused the dynamic-security command ${command}: ${reason}`);
    this.command = command;
    this.reason = reason;
  }
}

interface Waiting {
  readonly resolve: (response: DynsecResponse) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

export class Dynsec {
  readonly #client: MqttClient;
  readonly #timeoutMs: number;
  readonly #fence: WriteFence;
  readonly #waiting = new Map<string, Waiting>();

  /** `handle` must be fed every message on DYNSEC_RESPONSE_TOPIC (the caller subscribes). */
  /** `fence` is asked before every command: a deposed leader must not change the broker's ACLs. */
  constructor(client: MqttClient, timeoutMs = 10_000, fence: WriteFence = unfenced) {
    this.#client = client;
    this.#timeoutMs = timeoutMs;
    this.#fence = fence;
  }

  handle(payload: Buffer): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(payload.toString('utf8'));
    } catch {
      return;
    }
    const responses = (parsed as { responses?: unknown }).responses;
    if (!Array.isArray(responses)) return;
    for (const r of responses as (DynsecResponse & { correlationData?: unknown })[]) {
      if (typeof r.correlationData !== 'string') continue;
      const waiting = this.#waiting.get(r.correlationData);
      if (!waiting) continue;
      this.#waiting.delete(r.correlationData);
      clearTimeout(waiting.timer);
      waiting.resolve(r);
    }
  }

  /** Sends the commands in one message (the broker runs them in order); one response each. */
  async send(commands: readonly DynsecCommand[]): Promise<DynsecResponse[]> {
    if (commands.length === 0) return [];
    this.#fence.check(`sending dynamic-security commands (${commands.map((c) => c.command).join(', ')})`);
    const tagged = commands.map((c) => ({ ...c, correlationData: randomUUID() }));
    const answers = tagged.map(
      (c) =>
        new Promise<DynsecResponse>((resolve, reject) => {
          const timer = setTimeout(() => {
            this.#waiting.delete(c.correlationData);
            reject(
              new Error(
                `no answer to the dynamic-security command ${c.command} within ${this.#timeoutMs} ms: is Mosquitto's dynamic security plugin loaded, and may this user publish to ${DYNSEC_TOPIC}?`,
              ),
            );
          }, this.#timeoutMs);
          this.#waiting.set(c.correlationData, { resolve, reject, timer });
        }),
    );
    // Nobody may be waiting on these when the publish fails or the connection goes away.
    for (const answer of answers) answer.catch(() => undefined);
    try {
      await this.#client.publishAsync(DYNSEC_TOPIC, JSON.stringify({ commands: tagged }), { qos: 1 });
    } catch (error) {
      for (const c of tagged) {
        const waiting = this.#waiting.get(c.correlationData);
        clearTimeout(waiting?.timer);
        this.#waiting.delete(c.correlationData);
      }
      throw new Error(`cannot send dynamic-security commands to ${DYNSEC_TOPIC}`, { cause: error });
    }
    return Promise.all(answers);
  }

  /** Like send, but fails on the first error that `tolerate` does not accept. */
  async run(commands: readonly DynsecCommand[], tolerate: (error: string) => boolean = () => false) {
    const responses = await this.send(commands);
    for (const r of responses) {
      if (r.error !== undefined && !tolerate(r.error)) throw new DynsecError(r.command, r.error);
    }
    return responses;
  }

  /** The role's ACLs, or undefined when there is no such role. */
  async roleAcls(rolename: string): Promise<Acl[] | undefined> {
    const [r] = await this.send([{ command: 'getRole', rolename }]);
    if (r?.error !== undefined) {
      if (isNotFound(r.error)) return undefined;
      throw new DynsecError('getRole', r.error);
    }
    const role = (r?.data as { role?: { acls?: Acl[] } } | undefined)?.role;
    return (role?.acls ?? []).map((a) => ({
      acltype: a.acltype,
      topic: a.topic,
      priority: a.priority,
      allow: a.allow,
    }));
  }

  /** The roles a client holds (empty when there is no such client). */
  async clientRoles(username: string): Promise<string[]> {
    const [r] = await this.send([{ command: 'getClient', username }]);
    if (r?.error !== undefined) {
      if (isNotFound(r.error)) return [];
      throw new DynsecError('getClient', r.error);
    }
    const roles = (r?.data as { client?: { roles?: { rolename?: unknown }[] } } | undefined)?.client?.roles;
    return (roles ?? []).map((x) => x.rolename).filter((x): x is string => typeof x === 'string');
  }

  async listRoles(): Promise<string[]> {
    const [r] = await this.run([{ command: 'listRoles', verbose: false, count: -1, offset: 0 }]);
    return ((r?.data as { roles?: unknown[] } | undefined)?.roles ?? []).filter(
      (x): x is string => typeof x === 'string',
    );
  }

  /** Fails every waiting command (the connection is gone). */
  close(reason: string): void {
    for (const [id, waiting] of this.#waiting) {
      clearTimeout(waiting.timer);
      waiting.reject(new Error(`dynamic-security command abandoned: ${reason}`));
      this.#waiting.delete(id);
    }
  }
}

export const isAlreadyThere = (error: string): boolean => /already exists|already has/i.test(error);
export const isNotFound = (error: string): boolean => /not found|does not exist/i.test(error);
