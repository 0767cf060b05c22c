// SPDX-License-Identifier: Apache-2.0
// Fetching a module from its retained topic wasmfleet/v1/modules/<sha256>: subscribe, take the
// retained envelope, unsubscribe. The store verifies the digest; this only unpacks.
import { decodeModuleEnvelope, moduleTopic } from '@wasmfleet/api';
import type { ModuleSource } from '../store/fetch-module.ts';

export interface ModuleTopicClient {
  subscribe(topic: string): void;
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
    return new Promise<Uint8Array>((resolve, reject) => {
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
      if (list.length === 1) this.#client.subscribe(topic);
    });
  };

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
