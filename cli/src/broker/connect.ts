// SPDX-License-Identifier: Apache-2.0
// Connects to the MQTT broker named by --broker / WASMFLEET_BROKER, with errors that say which
// URL failed and how to pass another. MQTT 5 first, 3.1.1 when the broker only speaks that
// (aedes, the embedded broker of `wasmfleet dev up`).
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { brokerAddress, brokerForLogs } from '@wasmfleet/api';
import { closeOnOversizedPacket, limitPacketSize, PACKET_LIMITS } from '@wasmfleet/api/mqtt';
import { diagnostics } from '../diagnostics.ts';
import { UserError } from '../errors.ts';

const SCHEMES = ['mqtt:', 'mqtts:', 'ws:', 'wss:', 'tcp:', 'ssl:'];
const HOW =
  'pass --broker mqtt://host:1883 (or set WASMFLEET_BROKER); user and password go in the URL, mqtt://user:pass@host';

export function requireBroker(url: string | undefined): string {
  if (url === undefined || url.trim() === '') {
    throw new UserError('no MQTT broker given', { hint: `${HOW}; use the broker your devices connect to` });
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UserError(`--broker ${JSON.stringify(url)} is not a URL`, { hint: HOW });
  }
  if (!SCHEMES.includes(parsed.protocol)) {
    throw new UserError(`--broker ${brokerForLogs(url)} has an unsupported scheme ${parsed.protocol}`, {
      hint: 'use mqtt://, mqtts://, ws:// or wss://',
    });
  }
  return url;
}

export interface BrokerConnectOptions {
  readonly timeoutMs?: number;
  /** --broker-ca: the CA (PEM file) an mqtts:// broker's certificate is verified with. */
  readonly caFile?: string | undefined;
}

const CA_HINT =
  'pass the CA certificate (PEM) that signed the broker certificate with --broker-ca (or WASMFLEET_BROKER_CA), e.g. the ca.crt written by `wasmfleet nodes credentials <node> --dir DIR`';

function readCa(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new UserError(`--broker-ca ${file} cannot be read (${code})`, { hint: CA_HINT, cause: error });
  }
}

export async function connectBroker(
  url: string,
  purpose: string,
  { timeoutMs = 5_000, caFile }: BrokerConnectOptions = {},
): Promise<MqttClient> {
  const options = {
    clientId: `wasmfleet-cli-${purpose}-${randomBytes(4).toString('hex')}`,
    clean: true,
    connectTimeout: timeoutMs,
    reconnectPeriod: 0,
    ...(caFile === undefined ? {} : { ca: readCa(caFile) }),
  };
  const log = diagnostics().with({ broker: brokerForLogs(url), clientId: options.clientId });
  log.debug('connecting to the MQTT broker', { mqttVersion: 5 });
  let client: MqttClient;
  try {
    client = await connectOnce(
      limitPacketSize({ ...brokerAddress(url), ...options, protocolVersion: 5 }, PACKET_LIMITS.control),
    );
  } catch (first) {
    if (networkCode(first) !== undefined || isAuthRefusal(first)) throw explainBrokerError(first, url);
    log.debug('the broker refused MQTT 5; trying 3.1.1', { error: first });
    try {
      client = await connectOnce(
        limitPacketSize({ ...brokerAddress(url), ...options, protocolVersion: 4 }, PACKET_LIMITS.control),
      );
    } catch (second) {
      throw explainBrokerError(second, url);
    }
  }
  log.debug('connected to the MQTT broker', {
    mqttVersion: client.options.protocolVersion === 5 ? 5 : '3.1.1',
  });
  // A packet over the bound is refused after its header (it would be buffered whole otherwise).
  closeOnOversizedPacket(client, (error) => {
    process.stderr.write(
      `warning: ${error.message.replace('the broker', `the MQTT broker at ${brokerForLogs(url)}`)}\n`,
    );
  });
  return client;
}

/**
 * mqtt.js's connectAsync without retries, given options instead of a URL string (a string is
 * parsed with url.parse(), for which Node prints a deprecation warning, DEP0169). Its JavaScript
 * takes options as the first argument; its typings only name the string form with retries off.
 */
const connectOnce = (options: IClientOptions): Promise<MqttClient> =>
  (mqtt.connectAsync as (o: IClientOptions, unused: undefined, allowRetries: boolean) => Promise<MqttClient>)(
    options,
    undefined,
    false,
  );

/** Node's codes for a certificate chain it could not verify (no or the wrong CA). */
const UNVERIFIED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
]);

export function explainBrokerError(error: unknown, url: string): UserError {
  const tlsCode = (error as { code?: unknown }).code;
  if (typeof tlsCode === 'string' && UNVERIFIED.has(tlsCode)) {
    return new UserError(
      `cannot verify the certificate of the MQTT broker at ${brokerForLogs(url)} (${tlsCode})`,
      {
        hint: CA_HINT,
        cause: error,
      },
    );
  }
  const code = networkCode(error);
  if (code !== undefined) {
    return new UserError(`cannot reach the MQTT broker at ${brokerForLogs(url)} (${code})`, {
      hint: `check that the broker runs and the URL is right; ${HOW}`,
      cause: error,
    });
  }
  if (isAuthRefusal(error)) {
    return new UserError(`the MQTT broker at ${brokerForLogs(url)} refused the connection: not authorized`, {
      hint: 'put a user and password that the broker accepts in the URL: mqtt://user:pass@host:1883',
      cause: error,
    });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new UserError(`cannot connect to the MQTT broker at ${brokerForLogs(url)}: ${message}`, {
    hint: `check the URL and that it is an MQTT broker; ${HOW}`,
    cause: error,
  });
}

function networkCode(error: unknown): string | undefined {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && /^E[A-Z_]+$/.test(code)) return code;
    if (/connack timeout|connect timeout/i.test(e.message)) return 'timed out';
  }
  return undefined;
}

function isAuthRefusal(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  // MQTT 5: 134 bad user name or password, 135 not authorized; 3.1.1: 4 and 5.
  return typeof code === 'number' && [4, 5, 134, 135].includes(code);
}

/** Ends the connection; never throws. */
export async function disconnect(client: MqttClient): Promise<void> {
  await client.endAsync().catch(() => undefined);
}
