// SPDX-License-Identifier: Apache-2.0
// The broker URL a user gave (--broker / WASMFLEET_BROKER): checked, and shown without its
// password. Apart from broker/connect.ts so that the commands that only name a broker (`get`,
// `describe`: the dev stack's) do not load the MQTT client (docs/adr/0040).
import { brokerForLogs } from '@wasmfleet/api';
import { UserError } from '../errors.ts';

const SCHEMES = ['mqtt:', 'mqtts:', 'ws:', 'wss:', 'tcp:', 'ssl:'];
export const HOW =
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
