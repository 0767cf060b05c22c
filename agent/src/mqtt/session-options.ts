// SPDX-License-Identifier: Apache-2.0
// Turning the agent's connection settings into mqtt.js options (pure apart from reading the
// credential files it is pointed at). MQTT 5 with a persistent session by default; the retained
// last will marks the node offline when the connection dies without a goodbye.
import { readFileSync } from 'node:fs';
import type { IClientOptions } from 'mqtt';
import { brokerForLogs, brokerTarget, statusTopic, type NodeStatus } from '@wasmfleet/api';
import { limitPacketSize, PACKET_LIMITS } from '@wasmfleet/api/mqtt';

// One home for these, shared with the operator and the CLI (api/src/broker/broker-url.ts).
export { brokerAddress } from '@wasmfleet/api';

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

function silent(): void {}

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
  // A packet larger than a module envelope of the largest module the agent stores ends the
  // connection before it is buffered (docs/mqtt-contract.md, "Limits").
  return limitPacketSize(
    {
      // User and password in the (first) URL count unless given on their own (below); a
      // clustered broker's nodes as `servers`, tried in turn on reconnects.
      ...brokerTarget(s.brokerUrl),
      clientId: s.clientId ?? `wasmfleet-agent-${s.nodeId}`,
      protocolVersion,
      clean: false,
      keepalive: s.keepaliveSeconds ?? 30,
      reconnectPeriod: 1_000, // replaced after every disconnect by backoff with jitter (session.ts)
      // A refused CONNACK (wrong password, not authorized) is retried too, with the same backoff:
      // mqtt.js would otherwise stop for good, and a device must recover once its credentials are
      // fixed on the broker without someone restarting it.
      reconnectOnConnackError: true,
      connectTimeout: 10_000,
      // The agent renews its subscriptions itself (function-subscriptions.ts): mqtt.js would
      // subscribe again without the subscription identifiers' bookkeeping, and on MQTT 3.1.1 make the
      // broker send every retained reading once more.
      resubscribe: false,
      // mqtt.js otherwise restarts its keepalive timer on every PUBACK it reads: a clearInterval,
      // a new Timeout and a closure per QoS 1 output, ~4 % of the agent's CPU under a QoS 1
      // stream (bench/agent-pipeline/profile.ts). Without it a PINGREQ goes out every keepalive
      // interval even while traffic flows (a few bytes per 30 s); a dead broker is still noticed
      // within 1.5 keepalives.
      reschedulePings: false,
      // mqtt-packet otherwise pre-builds a 2-byte Buffer for each of the 65,536 packet ids on the
      // first write and keeps them for good: ~6.5 MB of a device's RSS to save one tiny allocation
      // per packet (docs/adr/0017).
      writeCache: false,
      // mqtt.js's client logs through `debug` several times per message; even switched off, each
      // call evaluates debug's `enabled` getter: ~2 % of the agent's CPU under a 16 B stream
      // (bench/agent-pipeline/profile.ts; mqtt-packet's own debug calls remain, ~2–3 %).
      // DEBUG=mqttjs* still turns mqtt.js's log on.
      ...(/mqttjs/.test(process.env.DEBUG ?? '') ? {} : { log: silent }),
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
    },
    PACKET_LIMITS.device,
  );
}

/** Reconnect delay: exponential from 500 ms to 30 s, with full jitter so a fleet does not stampede. */
export function reconnectDelayMs(attempt: number, random: () => number = Math.random): number {
  const cap = Math.min(30_000, 500 * 2 ** Math.min(attempt, 16));
  return Math.round(250 + random() * cap);
}

/** CONNACK reason codes for bad credentials: MQTT 5 (134, 135) and 3.1.1 (4, 5). */
const CREDENTIALS_REFUSED = new Set([134, 135, 4, 5]);
/** Node's codes for a broker certificate that the CA we were given (or the system's) cannot vouch for. */
const UNTRUSTED_BROKER = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
]);

/**
 * One log line for a failed connection attempt that names the broker and, where the cause is a
 * setting, the setting to fix. Never includes a secret.
 */
export function describeConnectionError(error: Error, s: SessionSettings): string {
  const code = (error as { code?: unknown }).code;
  const broker = brokerForLogs(s.brokerUrl);
  const retrying = 'retrying with backoff';
  if (typeof code === 'number' && CREDENTIALS_REFUSED.has(code)) {
    const user = s.username === undefined ? 'no user name set' : `user name ${JSON.stringify(s.username)}`;
    const password =
      s.passwordFile !== undefined
        ? `the password in ${s.passwordFile} (--password-file / WASMFLEET_MQTT_PASSWORD_FILE)`
        : s.password !== undefined
          ? 'the password in WASMFLEET_MQTT_PASSWORD'
          : 'a password: none set, pass --password-file <file>';
    return (
      `the broker ${broker} refused the user name or password (${error.message}; ${user}): check ` +
      `--username (WASMFLEET_MQTT_USERNAME) and ${password}; ${retrying}`
    );
  }
  if (typeof code === 'string') {
    if (code === 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' && s.certFile === undefined)
      return (
        `the broker ${broker} requires a client certificate (mutual TLS): pass --cert <file> and ` +
        `--key <file> (or set WASMFLEET_MQTT_CERT and WASMFLEET_MQTT_KEY); ${retrying}`
      );
    if (
      /^ERR_SSL_(TLSV1|TLSV13|SSLV3)_ALERT_(UNKNOWN_CA|BAD_CERTIFICATE|CERTIFICATE_|HANDSHAKE_FAILURE)/.test(
        code,
      )
    )
      return (
        `the broker ${broker} rejected this device's TLS handshake (${code})` +
        (s.certFile === undefined
          ? ': if it requires mutual TLS, pass --cert <file> and --key <file>'
          : `: is the client certificate ${s.certFile} (--cert) signed by a CA the broker trusts, unexpired, and matched by --key?`) +
        `; ${retrying}`
      );
    if (UNTRUSTED_BROKER.has(code))
      return (
        `cannot verify the TLS certificate of the broker ${broker} (${code}): ` +
        (s.caFile === undefined
          ? 'pass the CA certificate that signed it with --ca <file> (or WASMFLEET_MQTT_CA)'
          : `it is not signed by the CA in ${s.caFile} (--ca)`) +
        `; ${retrying}`
      );
    if (
      code === 'ERR_TLS_CERT_ALTNAME_INVALID' ||
      code === 'CERT_HAS_EXPIRED' ||
      code === 'CERT_NOT_YET_VALID'
    )
      return `the TLS certificate of the broker ${broker} is not valid for it (${error.message}); ${retrying}`;
  }
  return `MQTT ${broker}: ${error.message.trim()}`;
}
