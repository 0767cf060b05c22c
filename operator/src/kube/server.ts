// SPDX-License-Identifier: Apache-2.0
// The operator's operations endpoint, on plain node:http:
//   /metrics  Prometheus text exposition (prom-client registry)
//   /healthz  liveness: the process serves requests and every health check passes
//   /readyz   readiness: every ready check passes, e.g. informer caches synced and, with leader
//             election, the leader state known (this replica has read the Lease)
// Both probes answer 200 "ok" or 503 listing the failing checks, like kube-apiserver's
// `?verbose` output, so `curl` tells an operator what is wrong.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { OperatorMetrics } from './metrics.ts';

/** true when fine; false or a string (the reason) when not. May be async. */
export type Check = () => boolean | string | Promise<boolean | string>;

export interface OpsServerOptions {
  readonly metrics?: OperatorMetrics;
  /** Default 127.0.0.1; use 0.0.0.0 in a pod so the kubelet can probe. */
  readonly host?: string;
  /** 0 picks a free port. Default 8080. */
  readonly port?: number;
}

export class OpsServer {
  readonly #server: Server;
  readonly #metrics: OperatorMetrics | undefined;
  readonly #host: string;
  readonly #port: number;
  readonly #ready = new Map<string, Check>();
  readonly #health = new Map<string, Check>();

  constructor(options: OpsServerOptions = {}) {
    this.#metrics = options.metrics;
    this.#host = options.host ?? '127.0.0.1';
    this.#port = options.port ?? 8080;
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(`internal error: ${error instanceof Error ? error.message : String(error)}\n`);
      });
    });
    // Probes must not hang on a keep-alive socket during shutdown.
    this.#server.keepAliveTimeout = 5_000;
  }

  addReadyCheck(name: string, check: Check): this {
    this.#ready.set(name, check);
    return this;
  }

  addHealthCheck(name: string, check: Check): this {
    this.#health.set(name, check);
    return this;
  }

  async listen(): Promise<{ port: number; url: string }> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#port, this.#host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    const { port } = this.#server.address() as AddressInfo;
    const host = this.#host.includes(':') ? `[${this.#host}]` : this.#host;
    return { port, url: `http://${host}:${port}` };
  }

  async close(): Promise<void> {
    if (!this.#server.listening) return;
    const closed = new Promise<void>((resolve, reject) =>
      this.#server.close((error) => (error ? reject(error) : resolve())),
    );
    this.#server.closeIdleConnections();
    await closed;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res
        .writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' })
        .end('method not allowed\n');
      return;
    }
    switch (path) {
      case '/metrics': {
        if (!this.#metrics) {
          res.writeHead(404).end();
          return;
        }
        const body = await this.#metrics.text();
        res
          .writeHead(200, { 'content-type': this.#metrics.contentType })
          .end(req.method === 'HEAD' ? undefined : body);
        return;
      }
      case '/healthz':
      case '/livez':
        await this.#probe(res, this.#health);
        return;
      case '/readyz':
        await this.#probe(res, this.#ready);
        return;
      default:
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
    }
  }

  async #probe(res: ServerResponse, checks: Map<string, Check>): Promise<void> {
    const results = await Promise.all(
      [...checks].map(async ([name, check]) => {
        try {
          const result = await check();
          return {
            name,
            ok: result === true,
            why: result === true ? '' : result === false ? 'failed' : result,
          };
        } catch (error) {
          return { name, ok: false, why: error instanceof Error ? error.message : String(error) };
        }
      }),
    );
    const failed = results.filter((r) => !r.ok);
    const lines = results.map((r) => (r.ok ? `[+]${r.name} ok` : `[-]${r.name} ${r.why}`));
    res.writeHead(failed.length === 0 ? 200 : 503, {
      'content-type': 'text/plain; charset=utf-8',
      'cache-control': 'no-store',
    });
    res.end(
      `${lines.join('\n')}${lines.length ? '\n' : ''}${failed.length === 0 ? 'ok' : `${failed.length} check(s) failed`}\n`,
    );
  }
}

/** Ready checks for the usual parts: caches synced, leader state known. */
export function cachesSynced(
  informers: readonly { hasSynced(): boolean; source: { description: string } }[],
): Check {
  return () => {
    const pending = informers.filter((i) => !i.hasSynced()).map((i) => i.source.description);
    return pending.length === 0 ? true : `waiting for caches: ${pending.join(', ')}`;
  };
}

export function leaderStateKnown(elector: { leaderKnown(): boolean }): Check {
  return () => (elector.leaderKnown() ? true : 'leader election has not read the Lease yet');
}
