// SPDX-License-Identifier: Apache-2.0
// Reads devices' retained status documents from the broker: where per-device detail lives (which
// functions a device runs, their revision, phase, calls and errors, its last heartbeat), since the
// operator writes only summaries to Kubernetes (ADR 0023). A retained message arrives right after
// the subscription is acknowledged; the read ends when every asked-for device has answered, or
// after a quiet spell (a device that never connected has no retained status), or at the timeout.
import type { MqttClient } from 'mqtt';
import {
  ALL_STATUS_FILTER,
  nodeOfStatusTopic,
  parseNodeStatus,
  statusTopic,
  type NodeStatus,
} from '@wasmfleet/api';

/**
 * Above this many devices one wildcard subscription is cheaper than one topic each: the only
 * branch on fleet size in what the CLI shows per device (cli/test/get-nodes-fleet-size.test.ts).
 */
export const EXACT_TOPICS_UP_TO = 500;

export interface ReadOptions {
  /** End after this long without a new document. */
  readonly quietMs?: number;
  readonly timeoutMs?: number;
}

export async function readRetainedStatus(
  client: MqttClient,
  nodes: readonly string[],
  { quietMs = 500, timeoutMs = 10_000 }: ReadOptions = {},
): Promise<Map<string, NodeStatus>> {
  const wanted = new Set(nodes);
  const found = new Map<string, NodeStatus>();
  if (wanted.size === 0) return found;
  const filters = wanted.size <= EXACT_TOPICS_UP_TO ? [...wanted].map(statusTopic) : [ALL_STATUS_FILTER];
  /** When the last document (or the SUBACK) arrived. */
  const last = { at: 0 };
  const onMessage = (topic: string, payload: Buffer): void => {
    const node = nodeOfStatusTopic(topic);
    if (node === undefined || !wanted.has(node) || payload.length === 0) return;
    const parsed = parseNodeStatus(payload);
    if (parsed.ok) found.set(node, parsed.value);
    last.at = Date.now();
  };
  client.on('message', onMessage);
  try {
    await client.subscribeAsync(filters, { qos: 0 });
    last.at = Date.now();
    const until = Date.now() + timeoutMs;
    while (found.size < wanted.size && Date.now() - last.at < quietMs && Date.now() < until)
      await new Promise((resolve) => setTimeout(resolve, 25));
    await client.unsubscribeAsync(filters).catch(() => undefined);
  } finally {
    client.off('message', onMessage);
  }
  return found;
}
