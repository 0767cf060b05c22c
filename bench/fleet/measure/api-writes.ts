// SPDX-License-Identifier: Apache-2.0
// API writes as the API server counts them (apiserver_request_total), by resource and
// subresource, so a phase's cost reads as "EdgeNode status 12, WasmFunction status 7".
import { request } from 'node:https';

const WRITE_VERBS = new Set(['POST', 'PUT', 'PATCH', 'DELETE', 'CREATE', 'UPDATE', 'APPLY']);

export type WriteCounts = ReadonlyMap<string, number>;

/** Every write so far by "resource[/subresource]" (leases and events left out: bookkeeping). */
export async function writesByResource(server: string, token: string, caPem: string): Promise<WriteCounts> {
  const text = await metricsText(server, token, caPem);
  const counts = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const verb = /verb="([A-Z]+)"/.exec(line)?.[1];
    const resource = /resource="([^"]*)"/.exec(line)?.[1] ?? '';
    const sub = /subresource="([^"]*)"/.exec(line)?.[1] ?? '';
    if (!verb || !WRITE_VERBS.has(verb) || resource === 'leases' || resource === 'events') continue;
    const key = sub ? `${resource}/${sub}` : resource;
    counts.set(key, (counts.get(key) ?? 0) + Number(line.split(' ').pop()));
  }
  return counts;
}

export function total(counts: WriteCounts): number {
  let sum = 0;
  for (const n of counts.values()) sum += n;
  return sum;
}

/** after − before, per resource, leaving out resources that did not move. */
export function difference(after: WriteCounts, before: WriteCounts): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, v] of after) {
    const d = v - (before.get(k) ?? 0);
    if (d > 0) out.set(k, d);
  }
  return out;
}

function metricsText(server: string, token: string, caPem: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const url = new URL('/metrics', server);
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        ca: caPem,
        headers: { authorization: `Bearer ${token}` },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve(body));
      },
    );
    req.on('error', reject);
    req.end();
  });
}
