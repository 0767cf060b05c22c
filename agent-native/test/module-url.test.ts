// SPDX-License-Identifier: Apache-2.0
// The native agent fetching a module from `module.url` over HTTP when the broker has no retained
// envelope for it (docs/mqtt-contract.md, "Module envelope"): it runs from the URL's bytes, and
// every bad answer ends in the Node agent's reason — a 404 is FetchFailed (retried), more bytes
// than announced is DigestMismatch (final) — with no credential of the URL in any message.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { startMosquitto, uniqueName, type Mosquitto } from '@wasmfleet/test-support';
import {
  collect,
  connect,
  fnSpec,
  fnStatus,
  publishDesired,
  until,
  waitForStatus,
} from '../../agent/test/helpers/fleet.ts';
import { fixture } from '../../agent/test/helpers/wasm.ts';
import { nativeAgentBinary, startNativeAgent, type NativeAgent } from './helpers.ts';

let broker: Mosquitto;
let client: MqttClient;
let server: Server;
let base: string;
/** What the HTTP server answers per path, and the paths it was asked for. */
const routes = new Map<string, { status: number; body: Uint8Array }>();
const requests: string[] = [];
const agents: NativeAgent[] = [];

before(async () => {
  await nativeAgentBinary();
  broker = await startMosquitto();
  client = await connect(broker.url);
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const route = routes.get((req.url ?? '').split('?')[0] ?? '');
    res.writeHead(route?.status ?? 404, { 'content-type': 'application/wasm' }).end(route?.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  await Promise.all(agents.map((a) => a.process.stop()));
  await client.endAsync();
  await broker.stop();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function agentFor(node: string): Promise<NativeAgent> {
  const a = await startNativeAgent(broker.url, node);
  agents.push(a);
  return a;
}

describe('native agent: module.url', () => {
  it('runs a module the broker does not have from its URL, fetched once', async () => {
    const node = uniqueName('url');
    const echo = await fixture('healthy/echo.wat');
    routes.set(`/${node}/echo.wasm`, { status: 200, body: echo });
    const seen = await collect(client, `out/${node}/echo`);
    await agentFor(node);
    const spec = fnSpec('echo', echo);
    const url = `${base}/${node}/echo.wasm`;
    await publishDesired(client, node, [{ ...spec, module: { ...spec.module, url } }], 1);
    await waitForStatus(client, node, (s) => fnStatus(s, 'echo')?.phase === 'Running');
    await client.publishAsync(`sensors/${node}/echo`, 'from-url', { qos: 1 });
    await until('the output', () => seen.includes('from-url'));
    assert.equal(requests.filter((r) => r.startsWith(`/${node}/`)).length, 1);
  });

  it('reports a 404 as FetchFailed without the query of a pre-signed URL', async () => {
    const node = uniqueName('url404');
    const echo = await fixture('healthy/echo.wat');
    await agentFor(node);
    const spec = fnSpec('echo', echo);
    const url = `${base}/${node}/missing.wasm?X-Signature=s3cr3t-signature`;
    await publishDesired(client, node, [{ ...spec, module: { ...spec.module, url } }], 1);
    const status = await waitForStatus(client, node, (s) => fnStatus(s, 'echo')?.reason === 'FetchFailed');
    const message = fnStatus(status, 'echo')?.message ?? '';
    assert.match(message, /missing\.wasm\?… answered 404/);
    assert.doesNotMatch(message, /s3cr3t/);
  });

  it('refuses a URL with a user name and password without contacting it or showing the password', async () => {
    const node = uniqueName('urlcred');
    const echo = await fixture('healthy/echo.wat');
    routes.set(`/${node}/echo.wasm`, { status: 200, body: echo });
    const agent = await agentFor(node);
    const spec = fnSpec('echo', echo);
    const url = `${base.replace('//', '//deploy:hunter2@')}/${node}/echo.wasm`;
    await publishDesired(client, node, [{ ...spec, module: { ...spec.module, url } }], 1);
    const status = await waitForStatus(client, node, (s) => fnStatus(s, 'echo')?.reason === 'FetchFailed');
    const message = fnStatus(status, 'echo')?.message ?? '';
    assert.match(message, /includes credentials/);
    assert.doesNotMatch(message + (await agent.log()), /hunter2/);
    assert.equal(requests.filter((r) => r.startsWith(`/${node}/`)).length, 0);
  });

  it('fails for good with DigestMismatch when the URL serves more bytes than announced', async () => {
    const node = uniqueName('urlbig');
    const echo = await fixture('healthy/echo.wat');
    routes.set(`/${node}/echo.wasm`, { status: 200, body: Buffer.concat([echo, Buffer.alloc(64)]) });
    await agentFor(node);
    const spec = fnSpec('echo', echo);
    const url = `${base}/${node}/echo.wasm`;
    await publishDesired(client, node, [{ ...spec, module: { ...spec.module, url } }], 1);
    const status = await waitForStatus(client, node, (s) => fnStatus(s, 'echo')?.phase === 'Failed');
    assert.equal(fnStatus(status, 'echo')?.reason, 'DigestMismatch');
    assert.match(fnStatus(status, 'echo')?.message ?? '', /more than the announced \d+ bytes/);
  });
});
