// Turning the agent's connection settings into mqtt.js options (pure apart from reading the
// credential files it is pointed at). MQTT 5 with a persistent session by default; the retained
// last will marks the node offline when the connection dies without a goodbye.
import { readFileSync } from 'node:fs';
import type { IClientOptions } from 'mqtt';
import { statusTopic, type NodeStatus } from '@wasmfleet/api';

export interface SessionSettings {
  readonly brokerUrl: string;
  readonly nodeId: string;
  readonly clientId?: string;
  readonly username?: string;
  readonly password?: string;
  readonly passwordFile?: string;
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
  /** 5 (default) or 4 (MQTT 3.1.1). The session falls back to 4 when a broker refuses 5. */
  readonly protocolVersion?: 4 | 5;
  readonly keepaliveSeconds?: number;
  /** How long the broker keeps the session (and queues QoS 1 messages) while we are away. */
  readonly sessionExpirySeconds?: number;
  /**
   * MQTT 5 Receive Maximum: unacknowledged QoS 1 messages the broker may send us. This is the
   * protocol's own flow control, so the agent never has to stop reading the socket for QoS 1.
   */
  readonly receiveMaximum?: number;
}

export function offlineStatus(nodeId: string): NodeStatus {
  return { version: 1, node: nodeId, state: 'offline' };
}

function read(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new Error(`cannot read the ${what} file ${file}`, { cause: error });
  }
}

export function clientOptions(s: SessionSettings): IClientOptions {
  const protocolVersion = s.protocolVersion ?? 5;
  const password = s.passwordFile
    ? read(s.passwordFile, 'MQTT password').toString('utf8').trimEnd()
    : s.password;
  const tls = {
    ...(s.caFile ? { ca: read(s.caFile, 'CA certificate') } : {}),
    ...(s.certFile ? { cert: read(s.certFile, 'client certificate') } : {}),
    ...(s.keyFile ? { key: read(s.keyFile, 'client key') } : {}),
  };
  return {
    clientId: s.clientId ?? `wasmfleet-agent-${s.nodeId}`,
    protocolVersion,
    clean: false,
    keepalive: s.keepaliveSeconds ?? 30,
    reconnectPeriod: 1_000, // replaced after every disconnect by backoff with jitter (session.ts)
    connectTimeout: 10_000,
    resubscribe: true,
    ...(protocolVersion === 5
      ? {
          properties: {
            sessionExpiryInterval: s.sessionExpirySeconds ?? 7 * 24 * 3600,
            ...(s.receiveMaximum !== undefined
              ? { receiveMaximum: Math.max(1, Math.min(65_535, Math.round(s.receiveMaximum))) }
              : {}),
          },
        }
      : {}),
    ...(s.username !== undefined ? { username: s.username } : {}),
    ...(password !== undefined ? { password } : {}),
    ...tls,
    ...(Object.keys(tls).length > 0 ? { rejectUnauthorized: true } : {}),
    will: {
      topic: statusTopic(s.nodeId),
      payload: Buffer.from(JSON.stringify(offlineStatus(s.nodeId))),
      qos: 1,
      retain: true,
    },
  };
}

/** Reconnect delay: exponential from 500 ms to 30 s, with full jitter so a fleet does not stampede. */
export function reconnectDelayMs(attempt: number, random: () => number = Math.random): number {
  const cap = Math.min(30_000, 500 * 2 ** Math.min(attempt, 16));
  return Math.round(250 + random() * cap);
}
