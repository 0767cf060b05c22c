// SPDX-License-Identifier: Apache-2.0
// Broker URLs as every component takes them: taken apart with the WHATWG parser for mqtt.js, and
// printed without their password (brokerForLogs, in ../log/redact.ts).
import { brokerForLogs } from '../log/redact.ts';
import { brokerUrls } from '../wire/broker-list.ts';

/** Where the broker is, as mqtt.js's connection options (see brokerAddress). */
export interface BrokerAddress {
  readonly protocol: 'mqtt' | 'mqtts' | 'ws' | 'wss';
  readonly host: string;
  readonly hostname: string;
  readonly port?: number;
  /** ws:// and wss:// only: the HTTP path (and query) of the broker's WebSocket endpoint. */
  readonly path?: string;
  readonly username?: string;
  readonly password?: string;
}

/**
 * The broker URL taken apart with the WHATWG parser, so mqtt.js gets options instead of a string.
 * Given a string, mqtt.js parses it with the legacy `url.parse()`, for which Node prints a
 * security deprecation warning (DEP0169) in every device's log at every start: Node exempts
 * packages under node_modules, and the agent's bundle is not there.
 */
export function brokerAddress(url: string): BrokerAddress {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new Error(`broker URL ${brokerForLogs(url)} does not parse; write it as mqtt://host:1883`, {
      cause: error,
    });
  }
  const protocol = parsed.protocol.replace(/:$/, '');
  if (protocol !== 'mqtt' && protocol !== 'mqtts' && protocol !== 'ws' && protocol !== 'wss') {
    throw new Error(`broker URL ${brokerForLogs(url)}: use an mqtt://, mqtts://, ws:// or wss:// URL`);
  }
  // [::1] → ::1: net.connect and tls.connect want the bare IPv6 address.
  const hostname = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  if (hostname === '')
    throw new Error(`broker URL ${brokerForLogs(url)} names no host; write it as ${protocol}://host:port`);
  const websocket = protocol === 'ws' || protocol === 'wss';
  return {
    protocol,
    host: hostname,
    hostname,
    ...(parsed.port === '' ? {} : { port: Number(parsed.port) }),
    ...(websocket ? { path: `${parsed.pathname}${parsed.search}` } : {}),
    ...(parsed.username === '' ? {} : { username: decodeURIComponent(parsed.username) }),
    ...(parsed.password === '' ? {} : { password: decodeURIComponent(parsed.password) }),
  };
}

/**
 * The nodes of a clustered broker (`--broker mqtt://a:1883,mqtt://b:1883`), each taken apart like
 * brokerAddress. A single URL is a list of one.
 */
export function brokerAddresses(list: string): BrokerAddress[] {
  return brokerUrls(list).map(brokerAddress);
}

const DEFAULT_PORTS = { mqtt: 1883, mqtts: 8883, ws: 80, wss: 443 } as const;

/** One node of a clustered broker as mqtt.js's `servers` entry (it moves to the next on every reconnect). */
export function brokerServer(address: BrokerAddress): {
  host: string;
  port: number;
  protocol: BrokerAddress['protocol'];
} {
  return {
    host: address.hostname,
    port: address.port ?? DEFAULT_PORTS[address.protocol],
    protocol: address.protocol,
  };
}

/**
 * Where mqtt.js connects for a `--broker` value: its first node (user and password from that
 * URL), and with a clustered broker (`mqtt://a:1883,mqtt://b:1883`) every node as `servers`, so a
 * reconnect moves to the next one (ADR 0029). Every MQTT connection takes it: a list given to
 * mqtt.js as one URL string parses as one invalid URL and connects to localhost:1883.
 */
export function brokerTarget(list: string): BrokerAddress & { servers?: ReturnType<typeof brokerServer>[] } {
  const [first = brokerAddress(list), ...others] = brokerAddresses(list);
  return others.length > 0 ? { ...first, servers: [first, ...others].map(brokerServer) } : first;
}
