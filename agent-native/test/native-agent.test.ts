// SPDX-License-Identifier: Apache-2.0
// The native agent end to end on a real Mosquitto, driven only through the broker and its
// command line: functions run and publish, QoS 1 inputs survive, a reading on overlapping filters
// runs each function once, hostile modules end in clear reasons, signatures are enforced, and the
// last will and the offline restart from cache behave as docs/mqtt-contract.md says.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { parseNodeStatus, signingStatement, statusTopic } from '@wasmfleet/api';
import { startMosquitto, uniqueName, type Mosquitto } from '@wasmfleet/test-support';
import {
  collect,
  connect,
  fnSpec,
  fnStatus,
  publishDesired,
  publishModule,
  until,
  waitForStatus,
} from '../../agent/test/helpers/fleet.ts';
import { fixture, hostile } from '../../agent/test/helpers/wasm.ts';
import { tinyComponent } from '../../agent/test/component/tiny-component.ts';
import { nativeAgentBinary, startNativeAgent, type NativeAgent } from './helpers.ts';

let broker: Mosquitto;
let client: MqttClient;
let binary: string;
const agents: NativeAgent[] = [];

async function agentFor(node: string, args: readonly string[] = [], dataDir?: string): Promise<NativeAgent> {
  const a = await startNativeAgent(broker.url, node, { args, ...(dataDir ? { dataDir } : {}) });
  agents.push(a);
  return a;
}

before(async () => {
  binary = await nativeAgentBinary();
  broker = await startMosquitto();
  client = await connect(broker.url);
});

after(async () => {
  await Promise.all(agents.map((a) => a.process.stop()));
  await client.endAsync();
  await broker.stop();
});

describe('native agent', () => {
  it('runs a core module and publishes its outputs for every QoS 1 reading, then reports it Running', async () => {
    const node = uniqueName('native');
    const echo = await fixture('healthy/echo.wat');
    await publishModule(client, echo);
    const seen = await collect(client, `out/${node}/echo`);
    const agent = await agentFor(node);
    await publishDesired(client, node, [fnSpec('echo', echo)], 1);
    await waitForStatus(client, node, (s) => fnStatus(s, 'echo')?.phase === 'Running');
    for (let i = 0; i < 50; i++) await client.publishAsync(`sensors/${node}/echo`, `r${i}`, { qos: 1 });
    await until('50 outputs', () => seen.length >= 50);
    assert.deepEqual(
      seen,
      Array.from({ length: 50 }, (_, i) => `r${i}`),
    );
    const status = await waitForStatus(client, node, (s) => (fnStatus(s, 'echo')?.invocations ?? 0) >= 50);
    assert.equal(status.agentVersion, '0.2.0+native');
    assert.deepEqual(status.capacity?.runtimes, ['core', 'component']);
    assert.match(await agent.log(), /connected to mqtt:\/\/127\.0\.0\.1:\d+ \(MQTT 5\)/);
  });

  it('runs each function once per reading even when its filters overlap on Mosquitto', async () => {
    const node = uniqueName('overlap');
    const echo = await fixture('healthy/echo.wat');
    await publishModule(client, echo);
    const wide = fnSpec('wide', echo, { inputs: [{ topic: 'sensors/{node}/+', qos: 1, format: 'raw' }] });
    const exact = fnSpec('exact', echo, {
      inputs: [{ topic: 'sensors/{node}/probe', qos: 1, format: 'raw' }],
    });
    const partial = fnSpec('partial', echo, {
      inputs: [
        { topic: 'sensors/+/probe', qos: 0, format: 'raw' },
        { topic: 'sensors/{node}/#', qos: 1, format: 'raw' },
      ],
    });
    const outWide = await collect(client, `out/${node}/wide`);
    const outExact = await collect(client, `out/${node}/exact`);
    const outPartial = await collect(client, `out/${node}/partial`);
    await agentFor(node);
    await publishDesired(client, node, [wide, exact, partial], 1);
    await waitForStatus(client, node, (s) =>
      ['wide', 'exact', 'partial'].every((n) => fnStatus(s, n)?.phase === 'Running'),
    );
    for (let i = 0; i < 100; i++) await client.publishAsync(`sensors/${node}/probe`, `p${i}`, { qos: 1 });
    await until(
      '100 outputs each',
      () => outWide.length >= 100 && outExact.length >= 100 && outPartial.length >= 100,
    );
    await new Promise((r) => setTimeout(r, 500)); // duplicates, if any, would arrive by now
    assert.equal(outWide.length, 100);
    assert.equal(outExact.length, 100);
    assert.equal(outPartial.length, 100);
  });

  // The agent keeps, per topic, which subscription's copy of a reading to process (ADR 0052): a
  // covering filter added later replaces the held subscription, and the kept answer must follow.
  it('still runs each function once per reading after a wider filter replaces the subscription readings came on', async () => {
    const node = uniqueName('widened');
    const echo = await fixture('healthy/echo.wat');
    await publishModule(client, echo);
    const exact = fnSpec('exact', echo, {
      inputs: [{ topic: 'sensors/{node}/probe', qos: 1, format: 'raw' }],
    });
    const wide = fnSpec('wide', echo, { inputs: [{ topic: 'sensors/{node}/+', qos: 1, format: 'raw' }] });
    const outExact = await collect(client, `out/${node}/exact`);
    const outWide = await collect(client, `out/${node}/wide`);
    await agentFor(node);
    await publishDesired(client, node, [exact], 1);
    await waitForStatus(client, node, (s) => fnStatus(s, 'exact')?.phase === 'Running');
    for (let i = 0; i < 20; i++) await client.publishAsync(`sensors/${node}/probe`, `a${i}`, { qos: 1 });
    await until('20 outputs of exact', () => outExact.length >= 20);
    await publishDesired(client, node, [exact, wide], 2);
    await waitForStatus(client, node, (s) => fnStatus(s, 'wide')?.phase === 'Running');
    for (let i = 0; i < 20; i++) await client.publishAsync(`sensors/${node}/probe`, `b${i}`, { qos: 1 });
    await until('40 outputs of exact, 20 of wide', () => outExact.length >= 40 && outWide.length >= 20);
    await new Promise((r) => setTimeout(r, 500)); // duplicates, if any, would arrive by now
    assert.equal(outExact.length, 40);
    assert.equal(outWide.length, 20);
  });

  it('stops an infinite loop at its deadline, backs off after five, and keeps its neighbour running', async () => {
    const node = uniqueName('hostile');
    const loop = await hostile('loop-forever');
    const echo = await fixture('healthy/echo.wat');
    await publishModule(client, loop);
    await publishModule(client, echo);
    const seen = await collect(client, `out/${node}/echo`);
    await agentFor(node);
    await publishDesired(
      client,
      node,
      [fnSpec('loop', loop, { limits: { memoryBytes: 1 << 20, timeoutMs: 20 } }), fnSpec('echo', echo)],
      1,
    );
    await waitForStatus(
      client,
      node,
      (s) => fnStatus(s, 'loop')?.phase === 'Running' && fnStatus(s, 'echo')?.phase === 'Running',
    );
    for (let i = 0; i < 5; i++) {
      await client.publishAsync(`sensors/${node}/loop`, 'x', { qos: 1 });
      await client.publishAsync(`sensors/${node}/echo`, `e${i}`, { qos: 1 });
    }
    const status = await waitForStatus(
      client,
      node,
      (s) => fnStatus(s, 'loop')?.phase === 'CrashLoopBackOff',
    );
    const loopStatus = fnStatus(status, 'loop');
    assert.equal(loopStatus?.reason, 'Timeout');
    assert.match(
      loopStatus.message ?? '',
      /5 calls in a row failed; last: the call did not finish within its 20 ms deadline/,
    );
    await until('the neighbour answered every reading', () => seen.length >= 5);
  });

  for (const [problem, reason, pattern] of [
    ['missing-import', 'MissingImport', /"env"\."open_socket"/],
    ['huge-initial-memory', 'OutOfMemory', /4 GiB of initial memory; the limit is 16 MiB/],
    ['huge-table', 'InvalidModule', /table of 10000000 elements; the limit is 100000/],
    ['invalid-bytes', 'InvalidModule', /./],
  ] as const) {
    it(`refuses the hostile module ${problem} with reason ${reason}`, async () => {
      const node = uniqueName('refuse');
      const bytes = await hostile(problem);
      await publishModule(client, bytes);
      await agentFor(node);
      await publishDesired(client, node, [fnSpec('bad', bytes)], 1);
      const status = await waitForStatus(client, node, (s) => fnStatus(s, 'bad')?.phase === 'Failed');
      assert.equal(fnStatus(status, 'bad')?.reason, reason);
      assert.match(fnStatus(status, 'bad')?.message ?? '', pattern);
    });
  }

  it('never runs a module whose bytes do not match the digest it was asked for', async () => {
    const node = uniqueName('digest');
    const echo = await fixture('healthy/echo.wat');
    const other = await fixture('healthy/features.wat');
    const spec = fnSpec('echo', echo);
    await publishModule(client, other, spec.module.sha256); // the wrong bytes on the right topic
    await agentFor(node);
    await publishDesired(client, node, [spec], 1);
    const status = await waitForStatus(client, node, (s) => fnStatus(s, 'echo')?.phase === 'Failed');
    assert.equal(fnStatus(status, 'echo')?.reason, 'DigestMismatch');
  });

  it('runs only modules signed by a trusted key when --trusted-keys is set', async () => {
    const node = uniqueName('signed');
    const dir = await mkdtemp(path.join(tmpdir(), 'wasmfleet-keys-'));
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    await writeFile(path.join(dir, 'release.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
    const echo = await fixture('healthy/echo.wat');
    await publishModule(client, echo);
    const signed = fnSpec('signed', echo);
    const signature = sign(null, signingStatement(signed.module.sha256), privateKey).toString('base64');
    signed.module.signatures = [{ keyId: 'release', ed25519: signature }];
    const unsigned = fnSpec('unsigned', echo);
    await agentFor(node, ['--trusted-keys', dir]);
    await publishDesired(client, node, [signed, unsigned], 1);
    const status = await waitForStatus(
      client,
      node,
      (s) => fnStatus(s, 'signed')?.phase === 'Running' && fnStatus(s, 'unsigned')?.phase === 'Failed',
    );
    assert.equal(fnStatus(status, 'unsigned')?.reason, 'Unsigned');
  });

  it('leaves a retained offline status behind when killed, and restarts its functions from cache with no broker', async () => {
    const node = uniqueName('offline');
    const echo = await fixture('healthy/echo.wat');
    await publishModule(client, echo);
    const agent = await agentFor(node);
    await publishDesired(client, node, [fnSpec('echo', echo)], 7);
    await waitForStatus(client, node, (s) => fnStatus(s, 'echo')?.phase === 'Running');
    await agent.process.kill();
    await waitForStatus(client, node, (s) => s.state === 'offline');
    // Restart against a broker that is not there: the cached document starts the function.
    const restarted = await startNativeAgent('mqtt://127.0.0.1:1', node, { dataDir: agent.dataDir });
    agents.push(restarted);
    await new Promise((r) => setTimeout(r, 1500));
    await restarted.process.stop();
    assert.doesNotMatch(await restarted.log(), /ignoring the cached desired state/);
    // Back on the real broker it reports the cached generation at once.
    const back = await agentFor(node, [], agent.dataDir);
    const status = await waitForStatus(
      client,
      node,
      (s) => s.state === 'online' && fnStatus(s, 'echo')?.phase === 'Running',
    );
    assert.equal(status.observedGeneration, 7);
    await back.process.stop();
    const last = await waitForStatus(client, node, (s) => s.state === 'offline');
    assert.equal(parseNodeStatus(Buffer.from(JSON.stringify(last))).ok, true);
    assert.equal(statusTopic(node).endsWith('/status'), true);
  });

  it('on MQTT 3.1.1 a filter covered by another is not subscribed, so a reading still runs each function once', async () => {
    const node = uniqueName('v311');
    const echo = await fixture('healthy/echo.wat');
    await publishModule(client, echo);
    const wide = fnSpec('wide', echo, { inputs: [{ topic: 'sensors/{node}/+', qos: 1, format: 'raw' }] });
    const exact = fnSpec('exact', echo, {
      inputs: [{ topic: 'sensors/{node}/probe', qos: 1, format: 'raw' }],
    });
    const outWide = await collect(client, `out/${node}/wide`);
    const outExact = await collect(client, `out/${node}/exact`);
    const agent = await agentFor(node, ['--mqtt-version', '4']);
    await publishDesired(client, node, [wide, exact], 1);
    await waitForStatus(
      client,
      node,
      (s) => fnStatus(s, 'wide')?.phase === 'Running' && fnStatus(s, 'exact')?.phase === 'Running',
    );
    for (let i = 0; i < 50; i++) await client.publishAsync(`sensors/${node}/probe`, `p${i}`, { qos: 1 });
    await until('50 outputs each', () => outWide.length >= 50 && outExact.length >= 50);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(outWide.length, 50);
    assert.equal(outExact.length, 50);
    assert.match(await agent.log(), /\(MQTT 3\.1\.1\)/);
  });

  it('loses no QoS 1 reading when it is killed mid-stream and started again', async () => {
    const node = uniqueName('kill');
    const echo = await fixture('healthy/echo.wat');
    await publishModule(client, echo);
    const seen = await collect(client, `out/${node}/echo`);
    const first = await agentFor(node);
    await publishDesired(client, node, [fnSpec('echo', echo)], 1);
    await waitForStatus(client, node, (s) => fnStatus(s, 'echo')?.phase === 'Running');
    const sending = (async () => {
      for (let i = 0; i < 400; i++) await client.publishAsync(`sensors/${node}/echo`, `k${i}`, { qos: 1 });
    })();
    await until('some outputs', () => seen.length >= 50);
    await first.process.kill();
    await sending;
    await agentFor(node, [], first.dataDir);
    await until('every reading answered after the restart', () => new Set(seen).size >= 400, 30_000);
    assert.equal(new Set(seen).size, 400);
  });

  it('serves Prometheus metrics on --metrics-address', async () => {
    const node = uniqueName('metrics');
    const echo = await fixture('healthy/echo.wat');
    await publishModule(client, echo);
    const agent = await agentFor(node, ['--metrics-address', '0']);
    await publishDesired(client, node, [fnSpec('echo', echo)], 1);
    await waitForStatus(client, node, (s) => fnStatus(s, 'echo')?.phase === 'Running');
    let url: string | undefined;
    await until('the metrics address is logged', () => {
      void agent.log().then((l) => (url = /serving metrics on (http:\S+)/.exec(l)?.[1]));
      return url !== undefined;
    });
    const body = await (await fetch(url!)).text();
    assert.match(body, /wasmfleet_agent_functions\{phase="Running"\} 1/);
    assert.match(body, /wasmfleet_agent_process_resident_memory_bytes \d+/);
    assert.equal((await fetch(url!.replace('/metrics', '/other'))).status, 404);
  });

  it('runs a component of the WIT world (componentize-js, 12 MB) with its config, state and log', async () => {
    const node = uniqueName('component');
    const component = await tinyComponent();
    await publishModule(client, component);
    const seen = await collect(client, `out/${node}/tiny`);
    await agentFor(node);
    const spec = fnSpec('tiny', component, {
      config: { GREETING: 'hi' },
      limits: { memoryBytes: 64 * 1024 * 1024, timeoutMs: 1000, maxModuleBytes: 32 * 1024 * 1024 },
    });
    await publishDesired(client, node, [spec], 1);
    // Cranelift compiles the whole JS engine ahead of time: about a minute on a loaded 2-core machine.
    await waitForStatus(client, node, (s) => fnStatus(s, 'tiny')?.phase === 'Running', 240_000);
    for (const word of ['a', 'b']) await client.publishAsync(`sensors/${node}/tiny`, word, { qos: 1 });
    await until('two outputs', () => seen.length >= 2, 30_000);
    assert.deepEqual(seen, ['hi a #1', 'hi b #2']);
  });

  // Run directly (not through spawnManaged's log file, which may close before a fast exit's
  // stderr is flushed into it).
  const runDirectly = (args: readonly string[]): Promise<{ code: number | null; stderr: string }> =>
    new Promise((resolve) => {
      execFile(binary, args, (error, _stdout, stderr) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stderr }),
      );
    });

  it('exits 2 with a message naming the setting for a bad flag', async () => {
    const result = await runDirectly(['--broker', broker.url, '--node', 'Bad_Node']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /wasmfleet-agent-native: --node Bad_Node: use lower-case letters/);
  });

  it('refuses a WebSocket broker at start, naming the cargo feature and the Node agent, and never shows its password', async () => {
    // The WebSocket transport is a cargo feature, off by default (docs/adr/0034): a ws:// URL
    // must not look like a broker that is down.
    for (const url of ['ws://device:s3cret@127.0.0.1:9001/mqtt', 'wss://broker.example/mqtt']) {
      const result = await runDirectly(['--broker', url, '--node', 'ws-node']);
      assert.equal(result.code, 2, result.stderr);
      assert.match(
        result.stderr,
        /no WebSocket transport \(built without the cargo feature "websocket".*use the broker's mqtt:\/\/ or mqtts:\/\/ listener, or the Node agent \(wasmfleet-agent\)/,
      );
      assert.ok(!result.stderr.includes('s3cret'), result.stderr);
    }
    const joining = await runDirectly([
      'join',
      'ws://127.0.0.1:9001/mqtt',
      '--token',
      `wfjoin.${'a'.repeat(16)}.${'A'.repeat(43)}`,
    ]);
    assert.equal(joining.code, 2, joining.stderr);
    assert.match(
      joining.stderr,
      /wasmfleet-agent join: broker URL ws:\/\/127\.0\.0\.1:9001\/mqtt: this build of the native agent has no WebSocket transport/,
    );
  });
});
