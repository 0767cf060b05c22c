// SPDX-License-Identifier: Apache-2.0
// MQTT topics of wire contract v1 (docs/mqtt-contract.md). Every WasmFleet control topic lives
// under `wasmfleet/v1/`; the version is part of the topic so v1 and a future v2 can coexist on
// one broker during an upgrade.

export const WIRE_PREFIX = 'wasmfleet/v1';

/** Node ids become topic levels: no '/', '+', '#', no leading '$'. DNS-1123-like, ≤ 253. */
export const NODE_ID_PATTERN = '^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$';
const nodeId = new RegExp(NODE_ID_PATTERN);
export const SHA256_PATTERN = '^[a-f0-9]{64}$';
/** A signing key's name: a trusted-key file is `<keyId>.pub` on the device. */
export const KEY_ID_PATTERN = '^[a-z0-9]([-a-z0-9._]{0,61}[a-z0-9])?$';
const sha256 = new RegExp(SHA256_PATTERN);

export function isNodeId(value: string): boolean {
  return nodeId.test(value);
}

function checkNode(node: string): string {
  if (!isNodeId(node)) {
    throw new Error(
      `invalid node id ${JSON.stringify(node)}: use lower-case letters, digits, '-' and '.' (at most 253 characters)`,
    );
  }
  return node;
}

/** Retained, QoS 1, operator → agent: the full list of functions the node should run. */
export function desiredTopic(node: string): string {
  return `${WIRE_PREFIX}/nodes/${checkNode(node)}/desired`;
}

/** Retained, QoS 1, agent → operator: node and function status, heartbeats, last will. */
export function statusTopic(node: string): string {
  return `${WIRE_PREFIX}/nodes/${checkNode(node)}/status`;
}

/** Subscription filter for every node's status (the operator's bridge). */
export const ALL_STATUS_FILTER = `${WIRE_PREFIX}/nodes/+/status`;

/** Retained, QoS 1: a content-addressed module blob (module envelope). */
export function moduleTopic(digest: string): string {
  if (!sha256.test(digest))
    throw new Error(`invalid sha256 digest ${JSON.stringify(digest)}: expected 64 lower-case hex characters`);
  return `${WIRE_PREFIX}/modules/${digest}`;
}

/** Not retained, QoS 0: function log lines. */
export function logTopic(namespace: string, name: string, node: string): string {
  return `${WIRE_PREFIX}/logs/${namespace}/${name}/${checkNode(node)}`;
}

/** Filter for `wasmfleet logs -f <fn>` across nodes. */
export function logFilter(namespace: string, name: string): string {
  return `${WIRE_PREFIX}/logs/${namespace}/${name}/+`;
}

/** The node id in a status topic, or undefined for any other topic. */
export function nodeOfStatusTopic(topic: string): string | undefined {
  const m = /^wasmfleet\/v1\/nodes\/([^/]+)\/status$/.exec(topic);
  return m?.[1];
}

/** Replaces `{node}` in a user's input filter or output topic with the device's id. */
export function expandNode(topic: string, node: string): string {
  return topic.replaceAll('{node}', checkNode(node));
}

/** True when an MQTT topic name matches a filter with + and # wildcards. */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return !(i === 0 && topic.startsWith('$'));
    if (i >= t.length) return false;
    if (f[i] === '+') {
      if (i === 0 && topic.startsWith('$')) return false;
      continue;
    }
    if (f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/**
 * Why an expanded function topic cannot be used, or undefined when it can: the CRD's topic rules
 * (api/src/resources/wasmfunction.ts) plus MQTT's own (no NUL, at most 65,535 bytes). The agent
 * re-checks them because a desired document is only schema-checked on the wire, and one wildcard
 * output topic would get the whole session disconnected by the broker on every publish.
 */
export function functionTopicProblem(topic: string, use: 'input' | 'output'): string | undefined {
  if (topic === '') return 'the topic is empty';
  if (Buffer.byteLength(topic) > 65_535) return 'the topic is longer than MQTT allows (65,535 bytes)';
  if (topic.includes('\u0000')) return 'the topic contains a NUL character';
  if (topic.startsWith('wasmfleet/') || topic.startsWith('$'))
    return 'topics under wasmfleet/ (control traffic) and topics starting with $ (broker-internal) are reserved';
  if (use === 'output') {
    return /[+#]/.test(topic)
      ? "output topics are concrete topic names: remove the '+' or '#' wildcard"
      : undefined;
  }
  if (topic.includes('#') && !/^([^#]*\/)?#$/.test(topic))
    return "'#' must be the whole last level of a topic filter, e.g. sensors/#";
  if (/[^/][+]|[+][^/]/.test(topic)) return "'+' must be a whole topic level, e.g. sensors/+/temperature";
  return undefined;
}
