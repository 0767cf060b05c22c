// SPDX-License-Identifier: Apache-2.0
// The fault tests' network: a device in a network namespace (or behind the fallback proxy) whose
// link can be cut so that TCP sees silence — no error on either side — and restored so the same
// connection carries on.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { createDeviceHost, networkNamespaceSupport, startFaultProxy, waitFor } from '../src/index.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A TCP server that counts the lines it receives and echoes each one. */
async function lineServer(host: string): Promise<{ server: Server; port: number; lines: () => number }> {
  let lines = 0;
  const server = createServer((socket) => {
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      lines += chunk.toString().split('\n').length - 1;
      socket.write(chunk);
    });
  });
  server.listen(0, host);
  await once(server, 'listening');
  const address = server.address();
  assert.ok(address && typeof address === 'object');
  return { server, port: address.port, lines: () => lines };
}

describe('fault proxy', () => {
  it('blackholes silently and delivers the held bytes on heal; reset sends RST', async () => {
    const { server, port, lines } = await lineServer('127.0.0.1');
    await using proxy = await startFaultProxy({ host: '127.0.0.1', port });
    const client: Socket = connect(proxy.port, '127.0.0.1');
    const errors: string[] = [];
    client.on('error', (e: NodeJS.ErrnoException) => errors.push(e.code ?? e.message));
    let echoed = 0;
    client.on('data', (chunk: Buffer) => (echoed += chunk.toString().split('\n').length - 1));
    await once(client, 'connect');
    client.write('a\n');
    await waitFor('the first echo', () => (echoed === 1 ? true : undefined));
    proxy.setMode('blackhole');
    client.write('b\n');
    await sleep(300);
    assert.equal(lines(), 1, 'nothing passes while blackholed');
    assert.equal(errors.join(', '), '', 'and nobody hears about it');
    proxy.setMode('pass');
    await waitFor('the held line', () => (echoed === 2 ? true : undefined));
    proxy.setMode({ latencyMs: 200 });
    const t0 = performance.now();
    client.write('c\n');
    await waitFor('the delayed echo', () => (echoed === 3 ? true : undefined));
    assert.ok(performance.now() - t0 >= 350, 'both directions delayed');
    proxy.reset();
    await waitFor('a reset', () => (errors.includes('ECONNRESET') ? true : undefined));
    client.destroy();
    server.close();
  });
});

describe('device host (network namespace)', async () => {
  const support = await networkNamespaceSupport();
  it(`cuts the link silently and restores the same connection${support.ok ? '' : ` — not here: ${support.why}`}`, async (t) => {
    if (!support.ok) {
      // Reported, not hidden: the fault tests fall back to the proxy above on such machines.
      t.diagnostic(`network namespaces unavailable: ${support.why}`);
      return;
    }
    const dir = await mkdtemp(path.join(tmpdir(), 'wasmfleet-netns-test-'));
    await using host = await createDeviceHost();
    const { server, port, lines } = await lineServer(host.hostAddress);
    // A client inside the namespace: one line every 100 ms; exits on any socket error.
    const client = host.spawn('netns client', process.execPath, {
      args: [
        '-e',
        `const s = require('node:net').connect(${port}, '${host.hostAddress}');
         s.on('error', (e) => { console.error('socket error', e.code); process.exit(3); });
         setInterval(() => s.write('x\\n'), 100);`,
      ],
      logFile: path.join(dir, 'client.log'),
    });
    try {
      await waitFor('lines from inside the namespace', () => (lines() >= 3 ? true : undefined), {
        timeoutMs: 10_000,
      });
      await host.partition();
      await sleep(300);
      const during = lines();
      await sleep(1_500);
      assert.equal(lines(), during, 'nothing arrives while partitioned');
      assert.equal(client.child.exitCode, null, 'the client saw no error');
      await host.heal();
      await waitFor('lines again on the same connection', () => (lines() > during + 3 ? true : undefined), {
        timeoutMs: 30_000,
      });
      assert.equal(client.child.exitCode, null);
    } finally {
      await client.stop();
      server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
