// SPDX-License-Identifier: Apache-2.0
// The kit's side of the wire contract (docs/mqtt-contract.md), built on @wasmfleet/api's normative
// schemas and topic builders: it publishes modules and desired documents as an operator would,
// reads node status (every document must pass the schema), and collects outputs and log lines.
import { createHash } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import {
  desiredTopic,
  encodeModuleEnvelope,
  logFilter,
  moduleTopic,
  parseLogLine,
  parseNodeStatus,
  statusTopic,
  type DesiredFunction,
  type FunctionStatusReport,
  type LogLine,
  type NodeStatus,
} from '@wasmfleet/api';
import { CheckFailure } from './check.ts';

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function fnReport(status: NodeStatus, name: string): FunctionStatusReport | undefined {
  return status.functions?.find((f) => f.name === name);
}

/** What the kit sees of one topic filter: every message, in arrival order. */
export interface Collected {
  readonly messages: { readonly topic: string; readonly text: string; readonly bytes: Buffer }[];
  texts(): string[];
}

export class Fleet {
  readonly client: MqttClient;
  /** Status documents that failed the wire schema, by node (a failure of the runtime under test). */
  readonly invalidStatus = new Map<string, string[]>();
  readonly #latest = new Map<string, NodeStatus>();
  readonly #waiters = new Set<() => void>();

  private constructor(client: MqttClient) {
    this.client = client;
    client.on('message', (topic, payload) => {
      const node = /^wasmfleet\/v1\/nodes\/([^/]+)\/status$/.exec(topic)?.[1];
      if (node === undefined) return;
      if (payload.length === 0) return;
      const parsed = parseNodeStatus(payload);
      if (!parsed.ok) {
        const list = this.invalidStatus.get(node) ?? [];
        list.push(parsed.errors.slice(0, 3).join('; '));
        this.invalidStatus.set(node, list);
        return;
      }
      this.#latest.set(node, parsed.value);
      for (const w of [...this.#waiters]) w();
    });
  }

  static async connect(url: string): Promise<Fleet> {
    const client = await mqtt.connectAsync(url, {
      protocolVersion: 5,
      clientId: `wasmfleet-conformance-${process.pid}-${Date.now().toString(36)}`,
      reconnectPeriod: 200,
    });
    const fleet = new Fleet(client);
    await client.subscribeAsync('wasmfleet/v1/nodes/+/status', { qos: 1 });
    return fleet;
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }

  /** Publishes a module as a retained envelope on its topic; `bytes` may differ from `sha256` (tampering). */
  async publishModule(bytes: Uint8Array, sha256 = sha256Hex(bytes)): Promise<string> {
    const envelope = encodeModuleEnvelope(
      { sha256, size: bytes.length, mediaType: 'application/wasm' },
      bytes,
    );
    await this.client.publishAsync(moduleTopic(sha256), Buffer.from(envelope), { qos: 1, retain: true });
    return sha256;
  }

  async publishDesired(
    node: string,
    generation: number,
    functions: readonly DesiredFunction[],
  ): Promise<void> {
    const doc = { version: 1, node, generation, functions };
    await this.publishRaw(desiredTopic(node), JSON.stringify(doc));
  }

  /** Any bytes on a device's desired topic, retained (how bad documents are sent). */
  async publishRaw(topic: string, payload: string | Buffer): Promise<void> {
    await this.client.publishAsync(topic, payload, { qos: 1, retain: true });
  }

  async clearRetained(topic: string): Promise<void> {
    await this.client.publishAsync(topic, Buffer.alloc(0), { qos: 1, retain: true });
  }

  latestStatus(node: string): NodeStatus | undefined {
    return this.#latest.get(node);
  }

  /** The first status of `node` (from now on, or the latest seen) that satisfies `predicate`. */
  async waitForStatus(
    node: string,
    what: string,
    predicate: (s: NodeStatus) => boolean,
    timeoutMs: number,
  ): Promise<NodeStatus> {
    const now = this.#latest.get(node);
    if (now && predicate(now)) return now;
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const s = this.#latest.get(node);
        if (s && predicate(s)) {
          done();
          resolve(s);
        }
      };
      const timer = setTimeout(() => {
        done();
        const invalid = this.invalidStatus.get(node);
        reject(
          new CheckFailure(
            `no status of ${node} showed ${what} within ${Math.round(timeoutMs / 1000)} s; last: ${JSON.stringify(this.#latest.get(node) ?? null)}${invalid ? `; ${invalid.length} status documents failed the wire schema, e.g. ${invalid[0] ?? ''}` : ''}`,
          ),
        );
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
    });
  }

  /** Waits until `name` on `node` is Running at `revision` (or any revision). */
  running(node: string, name: string, timeoutMs: number, revision?: string): Promise<NodeStatus> {
    return this.waitForStatus(
      node,
      `${name}${revision ? ` at ${revision}` : ''} Running`,
      (s) => {
        const f = fnReport(s, name);
        return f?.phase === 'Running' && (revision === undefined || f.revision === revision);
      },
      timeoutMs,
    );
  }

  /** Subscribes (QoS 1) and keeps every message on `filter`. */
  async collect(filter: string): Promise<Collected> {
    const messages: { topic: string; text: string; bytes: Buffer }[] = [];
    const matches = (topic: string): boolean => {
      const f = filter.split('/');
      const t = topic.split('/');
      for (let i = 0; i < f.length; i++) {
        if (f[i] === '#') return true;
        if (f[i] !== '+' && f[i] !== t[i]) return false;
      }
      return f.length === t.length;
    };
    this.client.on('message', (topic, payload) => {
      if (matches(topic)) messages.push({ topic, text: payload.toString('utf8'), bytes: payload });
    });
    await this.client.subscribeAsync(filter, { qos: 1 });
    return { messages, texts: () => messages.map((m) => m.text) };
  }

  /** Log lines of one function (docs/mqtt-contract.md, "Log line"), schema-checked. */
  async collectLogs(namespace: string, name: string): Promise<LogLine[]> {
    const lines: LogLine[] = [];
    const filter = logFilter(namespace, name);
    const prefix = filter.slice(0, -1);
    this.client.on('message', (topic, payload) => {
      if (!topic.startsWith(prefix)) return;
      const parsed = parseLogLine(payload);
      if (parsed.ok) lines.push(parsed.value);
    });
    await this.client.subscribeAsync(filter, { qos: 0 });
    return lines;
  }

  async publish(topic: string, payload: string | Buffer, qos: 0 | 1 = 1): Promise<void> {
    await this.client.publishAsync(topic, payload, { qos });
  }

  statusTopic(node: string): string {
    return statusTopic(node);
  }
}
