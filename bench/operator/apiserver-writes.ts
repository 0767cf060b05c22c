// SPDX-License-Identifier: Apache-2.0
// Counts API writes from the API server's own metrics (apiserver_request_total), so the number
// includes every client — the operator's writes, not what it meant to write.
import { request } from 'node:https';

const WRITE_VERBS = new Set(['POST', 'PUT', 'PATCH', 'DELETE', 'CREATE', 'UPDATE', 'APPLY']);

export async function apiWrites(server: string, token: string, caPem: string): Promise<number> {
  const text = await new Promise<string>((resolve, reject) => {
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
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const verb = /verb="([A-Z]+)"/.exec(line)?.[1];
    const resource = /resource="([^"]*)"/.exec(line)?.[1];
    // Leases and events are bookkeeping; count what the fleet costs: objects and their status.
    if (verb && WRITE_VERBS.has(verb) && resource !== 'leases' && resource !== 'events')
      total += Number(line.split(' ').pop());
  }
  return total;
}
