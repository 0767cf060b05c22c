// SPDX-License-Identifier: Apache-2.0
// Plays the operator's side of the wire contract in tests: publishes modules and desired state
// to a real broker, watches node status, and counts function outputs.
import mqtt, { type MqttClient } from 'mqtt';
import {
  desiredTopic,
  encodeModuleEnvelope,
  moduleTopic,
  parseNodeStatus,
  statusTopic,
  type DesiredFunction,
  type DesiredState,
  type FunctionStatusReport,
  type NodeStatus,
} from '@wasmfleet/api';
import { Agent } from '../../src/node/agent.ts';
import { sha256Hex } from '../../src/store/module-store.ts';

export async function connect(url: string, clientId?: string): Promise<MqttClient> {
  return mqtt.connectAsync(url, {
    protocolVersion: 5,
    reconnectPeriod: 200,
    ...(clientId ? { clientId, clean: false, properties: { sessionExpiryInterval: 3600 } } : {}),
  });
}

export async function publishModule(
  client: MqttClient,
  bytes: Uint8Array,
  digest = sha256Hex(bytes),
): Promise<string> {
  await client.publishAsync(
    moduleTopic(digest),
    Buffer.from(
      encodeModuleEnvelope({ sha256: digest, size: bytes.length, mediaType: 'application/wasm' }, bytes),
    ),
    { qos: 1, retain: true },
  );
  return digest;
}

export function fnSpec(
  name: string,
  bytes: Uint8Array,
  overrides: Partial<DesiredFunction> = {},
): DesiredFunction {
  return {
    namespace: 'plant-1',
    name,
    revision: `${name}-1`,
    module: { sha256: sha256Hex(bytes), size: bytes.length },
    inputs: [{ topic: `sensors/{node}/${name}`, qos: 1, format: 'raw' }],
    outputs: [{ topic: `out/{node}/${name}`, qos: 1, retain: false }],
    config: {},
    limits: { memoryBytes: 16 * 1024 * 1024, timeoutMs: 100 },
    ...overrides,
  };
}

export async function publishDesired(
  client: MqttClient,
  node: string,
  functions: DesiredFunction[],
  generation: number,
): Promise<void> {
  const doc: DesiredState = { version: 1, node, generation, functions };
  await client.publishAsync(desiredTopic(node), JSON.stringify(doc), { qos: 1, retain: true });
}

/** Resolves with the first status document (retained or live) that satisfies `predicate`. */
export async function waitForStatus(
  client: MqttClient,
  node: string,
  predicate: (s: NodeStatus) => boolean,
  timeoutMs = 15_000,
): Promise<NodeStatus> {
  const topic = statusTopic(node);
  let last: NodeStatus | undefined;
  // A status the agent publishes but its own wire schema refuses is a bug the operator would see
  // as a stale device; say so instead of timing out in silence.
  let invalid: { count: number; errors: readonly string[] } = { count: 0, errors: [] };
  return new Promise<NodeStatus>((resolve, reject) => {
    const timer = setTimeout(() => {
      client.removeListener('message', onMessage);
      const refused =
        invalid.count > 0
          ? `; ${invalid.count} status document(s) failed the wire schema, the last with: ${invalid.errors.join('; ')}`
          : '';
      reject(
        new Error(
          `status of ${node} never matched within ${timeoutMs} ms${refused}; last valid: ${JSON.stringify(last, null, 1)}`,
        ),
      );
    }, timeoutMs);
    const onMessage = (t: string, payload: Buffer): void => {
      if (t !== topic) return;
      const parsed = parseNodeStatus(payload);
      if (!parsed.ok) {
        invalid = { count: invalid.count + 1, errors: parsed.errors.slice(0, 3) };
        return;
      }
      last = parsed.value;
      if (predicate(parsed.value)) {
        clearTimeout(timer);
        client.removeListener('message', onMessage);
        resolve(parsed.value);
      }
    };
    client.on('message', onMessage);
    // Re-subscribing delivers the retained status again.
    void client.unsubscribeAsync(topic).then(() => client.subscribeAsync(topic, { qos: 1 }));
  });
}

export function fnStatus(status: NodeStatus, name: string): FunctionStatusReport | undefined {
  return status.functions?.find((f) => f.name === name);
}

/** Collects payloads (as text) of every message on `filter`. */
export async function collect(client: MqttClient, filter: string): Promise<string[]> {
  const seen: string[] = [];
  client.on('message', (topic, payload) => {
    if (topic.startsWith(filter.replace('#', ''))) seen.push(payload.toString('utf8'));
  });
  await client.subscribeAsync(filter, { qos: 1 });
  return seen;
}

export async function until(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A started in-process agent with a 1 s heartbeat and a silent log, as most tests want it. */
export async function startAgent(brokerUrl: string, nodeId: string, dataDir: string): Promise<Agent> {
  const agent = new Agent({ brokerUrl, nodeId, dataDir, heartbeatSeconds: 1, log: () => undefined });
  await agent.start();
  return agent;
}
