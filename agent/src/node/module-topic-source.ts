// SPDX-License-Identifier: Apache-2.0
// Fetching a module from its retained topic wasmfleet/v1/modules/<sha256>: subscribe, take the
// retained envelope, unsubscribe. The store verifies the digest; this only unpacks.
import { decodeModuleEnvelope, moduleTopic } from '@wasmfleet/api';
import type { ModuleSource } from '../store/fetch-module.ts';

/**
 * With a module.url to fall back on, how long after the SUBACK to wait for the retained envelope:
 * a broker sends retained messages right after it (Mosquitto in the same write), so one that has
 * not come by then is not on the broker, and the URL is tried at once instead of after 30 s.
 */
export const RETAINED_GRACE_MS = 1_500;

export interface ModuleTopicClient {
  /** `subscribed` runs once the broker has acknowledged the subscription. */
  subscribe(topic: string, subscribed?: () => void): void;
  unsubscribe(topic: string): void;
  readonly connected: boolean;
}

export class ModuleTopicSource {
  readonly #client: ModuleTopicClient;
  readonly #waiting = new Map<string, ((payload: Uint8Array) => void)[]>();

  constructor(client: ModuleTopicClient) {
    this.#client = client;
  }

  readonly source: ModuleSource = (ref, signal) => {
    if (!this.#client.connected)
      return Promise.reject(new Error('not connected to the broker, cannot read the module topic'));
    const topic = moduleTopic(ref.sha256);
    return new Promise<Uint8Array | undefined>((resolve, reject) => {
      const list = this.#waiting.get(topic) ?? [];
      const onPayload = (payload: Uint8Array): void => {
        signal.removeEventListener('abort', onAbort);
        const envelope = decodeModuleEnvelope(payload);
        if (!envelope.ok) reject(new Error(`${topic}: ${envelope.error}`));
        else resolve(envelope.bytes);
      };
      const onAbort = (): void => {
        const rest = (this.#waiting.get(topic) ?? []).filter((f) => f !== onPayload);
        if (rest.length === 0) {
          this.#waiting.delete(topic);
          this.#client.unsubscribe(topic);
        } else this.#waiting.set(topic, rest);
        reject(new Error(`no retained module arrived on ${topic} in time`));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      list.push(onPayload);
      this.#waiting.set(topic, list);
      // Without a URL the topic is the only source: wait for the envelope as long as allowed.
      const giveUp =
        ref.url === undefined
          ? undefined
          : (): void => {
              setTimeout(() => {
                const waiters = this.#waiting.get(topic);
                if (!waiters?.includes(onPayload)) return; // delivered, or given up already
                const rest = waiters.filter((f) => f !== onPayload);
                signal.removeEventListener('abort', onAbort);
                if (rest.length === 0) {
                  this.#waiting.delete(topic);
                  this.#client.unsubscribe(topic);
                } else this.#waiting.set(topic, rest);
                resolve(undefined);
              }, RETAINED_GRACE_MS).unref();
            };
      if (list.length === 1) this.#client.subscribe(topic, giveUp);
      else giveUp?.();
    });
  };

  /** A new session holds no subscription: ask again for the modules still awaited. */
  resubscribe(): void {
    for (const topic of this.#waiting.keys()) this.#client.subscribe(topic);
  }

  /** True when the message belonged to a module fetch. */
  deliver(topic: string, payload: Uint8Array): boolean {
    const waiters = this.#waiting.get(topic);
    if (!waiters) return false;
    this.#waiting.delete(topic);
    this.#client.unsubscribe(topic);
    for (const w of waiters) w(payload);
    return true;
  }
}
