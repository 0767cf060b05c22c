// SPDX-License-Identifier: Apache-2.0
// module.url against a real HTTP server on loopback: the happy path and each way a URL goes
// wrong, each giving the reason and a message a user can act on.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { freePort } from '@wasmfleet/test-support';
import { ModuleCache, resolveModule, type KubeReader, type ResolveResult } from '../../src/modules/index.ts';

const WASM = Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
// url sources never touch Kubernetes; a reader that fails loudly proves it.
const noKube: KubeReader = {
  getConfigMap: () => Promise.reject(new Error('url sources must not read ConfigMaps')),
  getSecret: () => Promise.reject(new Error('url sources must not read Secrets')),
};

function failure(result: ResolveResult): { reason: string; message: string; retryable: boolean } {
  if (result.ok) assert.fail(`expected a failure, got a module with sha256 ${result.module.sha256}`);
  return result.failure;
}

describe('module.url', () => {
  let server: Server;
  let base: string;
  let requests = 0;
  /** Bytes the /huge handler managed to write before the client went away. */
  let hugeWritten = 0;
  let hugeClosedEarly: Promise<boolean>;
  let markHuge: (early: boolean) => void = () => undefined;

  const HUGE_TOTAL = 64 * 1024 * 1024;

  before(async () => {
    hugeClosedEarly = new Promise((resolve) => (markHuge = resolve));
    server = createServer((req, res) => {
      requests++;
      const send = (status: number, body: Uint8Array | string, type = 'application/wasm'): ServerResponse =>
        res.writeHead(status, { 'content-type': type }).end(body);
      switch (req.url) {
        case '/fn.wasm':
          send(200, WASM);
          break;
        case '/missing.wasm':
          send(404, 'not here', 'text/plain');
          break;
        case '/basic.wasm':
          if (req.headers.authorization === `Basic ${Buffer.from('alice:s3cret').toString('base64')}`)
            send(200, WASM);
          else res.writeHead(401, { 'www-authenticate': 'Basic realm="files"' }).end();
          break;
        case '/private.wasm':
          send(403, 'forbidden', 'text/plain');
          break;
        case '/broken.wasm':
          send(503, 'try later', 'text/plain');
          break;
        case '/login.html':
          send(
            200,
            '<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body>…</body></html>',
            'text/html',
          );
          break;
        case '/other.wasm':
          send(200, Buffer.concat([WASM, Buffer.from([0x00, 0x00])]));
          break;
        case '/announced-huge.wasm':
          // Announces 10 MiB and never sends it: the client must refuse on the header alone.
          res.writeHead(200, { 'content-length': String(10 * 1024 * 1024) });
          res.write(WASM);
          break;
        case '/huge.wasm': {
          // Chunked, no length: the client only learns the size by reading, and must stop early.
          res.writeHead(200, { 'content-type': 'application/wasm' });
          const chunk = Buffer.alloc(64 * 1024, 1);
          chunk.set(WASM);
          let finished = false;
          res.on('close', () => markHuge(!finished));
          const pump = (): void => {
            while (hugeWritten < HUGE_TOTAL) {
              hugeWritten += chunk.length;
              if (!res.write(chunk)) {
                res.once('drain', pump);
                return;
              }
            }
            finished = true;
            res.end();
          };
          pump();
          break;
        }
        case '/slow.wasm':
          // Headers at once, then the body trickles far slower than the deadline allows.
          res.writeHead(200, { 'content-type': 'application/wasm' });
          res.write(WASM.subarray(0, 4));
          setTimeout(() => res.end(WASM.subarray(4)), 5_000).unref();
          break;
        default:
          send(404, 'no route', 'text/plain');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const ctx = { namespace: 'unused', kube: noKube, timeoutMs: 10_000 };

  it('downloads, verifies and describes a module', async () => {
    const result = await resolveModule({ url: `${base}/fn.wasm`, sha256: sha(WASM) }, ctx);
    assert.ok(result.ok, JSON.stringify(result));
    assert.equal(result.module.sha256, sha(WASM));
    assert.equal(result.module.size, 8);
    assert.deepEqual(Buffer.from(result.module.bytes), WASM);
    assert.equal(result.module.mediaType, 'application/wasm');
    assert.equal(result.module.kind, 'module');
    assert.equal(result.cached, false);
  });

  it('serves an unchanged spec from the cache without downloading again', async () => {
    const cache = new ModuleCache();
    const spec = { url: `${base}/fn.wasm`, sha256: sha(WASM) };
    const before = requests;
    const first = await resolveModule(spec, { ...ctx, cache });
    const second = await resolveModule(spec, { ...ctx, cache });
    assert.ok(first.ok && second.ok);
    assert.equal(first.cached, false);
    assert.equal(second.cached, true);
    assert.equal(requests - before, 1, 'the second resolution must not reach the server');
    // A different pin on the same URL is a different resolution and is checked for real.
    const other = await resolveModule({ url: spec.url, sha256: 'a'.repeat(64) }, { ...ctx, cache });
    assert.equal(failure(other).reason, 'DigestMismatch');
    assert.equal(requests - before, 2);
  });

  it('404 → NotFound', async () => {
    const f = failure(await resolveModule({ url: `${base}/missing.wasm`, sha256: sha(WASM) }, ctx));
    assert.equal(f.reason, 'NotFound');
    assert.match(f.message, /404/);
    assert.match(f.message, /missing\.wasm/);
    assert.equal(f.retryable, false);
  });

  it('403 → Unauthorized; 503 → Unreachable and retryable', async () => {
    const denied = failure(await resolveModule({ url: `${base}/private.wasm`, sha256: sha(WASM) }, ctx));
    assert.equal(denied.reason, 'Unauthorized');
    assert.match(denied.message, /403/);
    const down = failure(await resolveModule({ url: `${base}/broken.wasm`, sha256: sha(WASM) }, ctx));
    assert.equal(down.reason, 'Unreachable');
    assert.match(down.message, /503/);
    assert.equal(down.retryable, true);
  });

  it('wrong bytes at the URL → DigestMismatch naming expected and actual', async () => {
    const body = Buffer.concat([WASM, Buffer.from([0x00, 0x00])]);
    const f = failure(await resolveModule({ url: `${base}/other.wasm`, sha256: sha(WASM) }, ctx));
    assert.equal(f.reason, 'DigestMismatch');
    assert.ok(f.message.includes(sha(WASM)), f.message);
    assert.ok(f.message.includes(sha(body)), f.message);
    assert.match(f.message, /expected/);
  });

  it('an HTML page instead of wasm → NotWasm saying it looks like HTML', async () => {
    const f = failure(await resolveModule({ url: `${base}/login.html`, sha256: sha(WASM) }, ctx));
    assert.equal(f.reason, 'NotWasm');
    assert.match(f.message, /HTML page/);
    assert.match(f.message, /3c 21 44 4f 43 54 59 50 45/); // "<!DOCTYPE" in hex
  });

  it('announced size over the limit → TooLarge before reading the body', async () => {
    const f = failure(
      await resolveModule(
        { url: `${base}/announced-huge.wasm`, sha256: sha(WASM) },
        { ...ctx, maxBytes: 1024 * 1024 },
      ),
    );
    assert.equal(f.reason, 'TooLarge');
    assert.match(f.message, /1 MiB/);
    assert.match(f.message, /announced 10 MiB/);
  });

  it('a streamed body over the limit → TooLarge, and the download stops early', async () => {
    const limit = 1024 * 1024;
    const f = failure(
      await resolveModule({ url: `${base}/huge.wasm`, sha256: sha(WASM) }, { ...ctx, maxBytes: limit }),
    );
    assert.equal(f.reason, 'TooLarge');
    assert.equal(await hugeClosedEarly, true, 'the client must hang up before the server finishes');
    assert.ok(hugeWritten < HUGE_TOTAL / 2, `server wrote ${hugeWritten} bytes of ${HUGE_TOTAL}`);
  });

  it('a body slower than the deadline → Unreachable, retryable, naming the timeout', async () => {
    const started = Date.now();
    const f = failure(
      await resolveModule({ url: `${base}/slow.wasm`, sha256: sha(WASM) }, { ...ctx, timeoutMs: 300 }),
    );
    assert.equal(f.reason, 'Unreachable');
    assert.match(f.message, /within 300 ms/);
    assert.equal(f.retryable, true);
    assert.ok(Date.now() - started < 3_000, 'the deadline must cut the download short');
  });

  it('a closed port → Unreachable: connection refused', async () => {
    const port = await freePort(); // free now, so nothing listens there
    const f = failure(
      await resolveModule({ url: `http://127.0.0.1:${port}/fn.wasm`, sha256: sha(WASM) }, ctx),
    );
    assert.equal(f.reason, 'Unreachable');
    assert.match(f.message, /connection refused/);
    assert.equal(f.retryable, true);
  });

  it('bad specs → InvalidSource with what to fix', async () => {
    const cases: [Parameters<typeof resolveModule>[0], RegExp][] = [
      [{ url: `${base}/fn.wasm` }, /sha256 is required/],
      [{ url: `${base}/fn.wasm`, sha256: 'ABC' }, /64 lowercase hex/],
      [{ url: 'ftp://example.invalid/fn.wasm', sha256: sha(WASM) }, /http:\/\/ or https:\/\//],
      [{ url: 'not a url', sha256: sha(WASM) }, /not a valid URL/],
      [{}, /needs a source/],
      [{ url: `${base}/fn.wasm`, sha256: sha(WASM), configMap: { name: 'a', key: 'b' } }, /exclusive/],
    ];
    for (const [spec, message] of cases) {
      const f = failure(await resolveModule(spec, ctx));
      assert.equal(f.reason, 'InvalidSource', JSON.stringify(spec));
      assert.match(f.message, message);
    }
  });

  it('sends user:password in a URL as Basic auth and keeps it out of messages', async () => {
    const url = new URL(`${base}/basic.wasm`);
    url.username = 'alice';
    url.password = 's3cret';
    const ok = await resolveModule({ url: url.href, sha256: sha(WASM) }, ctx);
    assert.ok(ok.ok, JSON.stringify(ok));
    url.password = 'wrong-pw';
    const f = failure(await resolveModule({ url: url.href, sha256: sha(WASM) }, ctx));
    assert.equal(f.reason, 'Unauthorized');
    assert.match(f.message, /401/);
    assert.doesNotMatch(f.message, /wrong-pw|alice/);
  });
});
