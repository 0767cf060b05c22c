// SPDX-License-Identifier: Apache-2.0
// Mosquitto's own record of publishes (needs `log_type debug`): "Received PUBLISH from <client
// id> (d0, q1, r1, m3, '<topic>', ... (<n> bytes))". The broker side of "who published what".

/** Broker config lines that log every PUBLISH with the publishing client's id. */
export const LOG_PUBLISHES = ['log_type debug'];

export interface BrokerPublish {
  readonly clientId: string;
  readonly topic: string;
}

export function publishesIn(log: string): BrokerPublish[] {
  const out: BrokerPublish[] = [];
  for (const m of log.matchAll(/Received PUBLISH from (\S+) \([^']*'([^']*)'/g)) {
    if (m[1] && m[2] !== undefined) out.push({ clientId: m[1], topic: m[2] });
  }
  return out;
}
