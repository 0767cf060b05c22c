// SPDX-License-Identifier: Apache-2.0
// Regressions for what an idle agent carried and printed for nothing (docs/adr/0019):
// - `import … from 'node:http'` (for /metrics, off by default) loaded undici through Node's ESM
//   view of node:http: ~12 MB of RSS on every device;
// - mqtt.js's connect() loaded its WebSocket, TLS and SOCKS transports whatever the URL: ws,
//   http, https, zlib, tls, dns — a few MB more;
// - the launcher loaded child_process to build a tree that already existed;
// - mqtt.js parsed the broker URL with url.parse(), so every start printed Node's DEP0169
//   security deprecation warning into the device's log.
// The transports still load when a URL needs them: the ws:// case connects through a real
// WebSocket to aedes. And the bundle's stand-in for `debug` (whose loggers allocated an array per
// call even when off: 27 % of the agent's allocation under a 16 B stream) still logs under DEBUG.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { it } from 'node:test';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import { WebSocketServer, createWebSocketStream } from 'ws';
import { spawnManaged, startMosquitto, uniqueName } from '@wasmfleet/test-support';
import {
  collect,
  connect,
  fnSpec,
  fnStatus,
  publishDesired,
  publishModule,
  until,
  waitForStatus,
} from '../helpers/fleet.ts';
import { tempDir } from '../helpers/tmp.ts';
import { fixture } from '../helpers/wasm.ts';

const AGENT_BIN = fileURLToPath(new URL('../../bin/wasmfleet-agent.js', import.meta.url));
const RECORDER = fileURLToPath(new URL('./fixtures/record-builtins.mjs', import.meta.url));

/**
 * Runs an agent against `brokerUrl` (with `env` added to its environment) until `ready` resolves;
 * returns its built-ins and its log. The log is `<dir>/agent.log` while it runs.
 */
async function runAgent(
  brokerUrl: string,
  node: string,
  dir: string,
  ready: () => Promise<void>,
  env: Readonly<Record<string, string>> = {},
): Promise<{ builtins: Set<string>; log: string }> {
  const builtinsFile = path.join(dir, 'builtins.txt');
  const logFile = path.join(dir, 'agent.log');
  const agent = spawnManaged('agent', process.execPath, {
    args: [
      '--import',
      RECORDER,
      AGENT_BIN,
      '--broker',
      brokerUrl,
      '--node',
      node,
      '--data-dir',
      path.join(dir, 'data'),
      '--heartbeat',
      '1',
    ],
    env: { ...process.env, ...env, WASMFLEET_TEST_BUILTINS_OUT: builtinsFile },
    logFile,
  });
  try {
    await ready();
  } finally {
    await agent.stop();
  }
  const builtins = new Set((await readFile(builtinsFile, 'utf8')).split('\n').filter(Boolean));
  return { builtins, log: await readFile(logFile, 'utf8') };
}

it('an agent on mqtt:// runs its function without loading http, undici, ws, tls or child_process, and prints no deprecation warning', async () => {
  await using broker = await startMosquitto();
  await using dir = await tempDir();
  const node = uniqueName('lean');
  const control = await connect(broker.url);
  try {
    const bytes = await fixture('healthy/echo.wat');
    await publishModule(control, bytes);
    await publishDesired(control, node, [fnSpec('f', bytes)], 1);
    const outputs = await collect(control, `out/${node}/f`);
    const { builtins, log } = await runAgent(broker.url, node, dir.path, async () => {
      const status = await waitForStatus(control, node, (s) => fnStatus(s, 'f')?.phase === 'Running', 60_000);
      assert.equal(fnStatus(status, 'f')?.phase, 'Running');
      const ping = (): void => void control.publish(`sensors/${node}/f`, 'ping', { qos: 1 });
      ping();
      const again = setInterval(ping, 1000);
      try {
        await until('an output', () => outputs.some((o) => o.includes('ping')), 30_000);
      } finally {
        clearInterval(again);
      }
    });
    assert.ok(builtins.has('net') && builtins.has('crypto'), `the recorder saw: ${[...builtins].join(' ')}`);
    for (const unwanted of [
      'http',
      'internal/deps/undici/undici',
      'https',
      'zlib',
      'tls',
      'dns',
      'child_process',
    ]) {
      assert.ok(!builtins.has(unwanted), `an mqtt:// agent loaded ${unwanted}`);
    }
    assert.doesNotMatch(log, /DeprecationWarning|Warning:/);
  } finally {
    await control.endAsync();
  }
});

it('an agent on ws:// loads the WebSocket transport when it connects, and comes online', async () => {
  const aedes = await Aedes.createBroker();
  const server = createServer();
  const wss = new WebSocketServer({ server });
  wss.on('connection', (socket) => aedes.handle(createWebSocketStream(socket)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const brokerUrl = `ws://127.0.0.1:${port}/mqtt`;
  const close = async (): Promise<void> => {
    wss.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
  };
  await using dir = await tempDir();
  const node = uniqueName('ws');
  // aedes speaks MQTT 3.1.1 only (the agent falls back to it by itself).
  const observer = await mqtt
    .connectAsync(brokerUrl, { protocolVersion: 4, reconnectPeriod: 0 })
    .catch(async (error: unknown) => {
      await close();
      throw error;
    });
  try {
    const states: string[] = [];
    observer.on('message', (_t, payload) =>
      states.push((JSON.parse(payload.toString()) as { state: string }).state),
    );
    await observer.subscribeAsync(`wasmfleet/v1/nodes/${node}/status`, { qos: 1 });
    const { builtins, log } = await runAgent(brokerUrl, node, dir.path, () =>
      until('the agent online over ws://', () => states.includes('online'), 30_000),
    );
    assert.match(log, /connected to ws:\/\/127\.0\.0\.1/);
    assert.ok(builtins.has('http'), 'the ws transport runs over node:http');
    assert.doesNotMatch(log, /DeprecationWarning/);
  } finally {
    await observer.endAsync();
    await close();
  }
});

it('DEBUG still turns on the loggers of the packages in the bundle (the quiet stand-in for `debug`)', async () => {
  await using broker = await startMosquitto();
  await using dir = await tempDir();
  const logFile = path.join(dir.path, 'agent.log');
  await runAgent(
    broker.url,
    uniqueName('debug'),
    dir.path,
    () =>
      until(
        'mqtt-packet:parser lines in the log',
        () => existsSync(logFile) && readFileSync(logFile, 'utf8').includes('mqtt-packet:parser parse:'),
        30_000,
      ),
    { DEBUG: 'mqtt-packet:parser' },
  );
});
