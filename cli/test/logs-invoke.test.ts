// SPDX-License-Identifier: Apache-2.0
// `wasmfleet logs` and `wasmfleet invoke` against a real Mosquitto and a real API server. A tiny
// MQTT client in the test stands in for an agent: it publishes log lines, and answers inputs.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import {
  freePort,
  generateTestCertificates,
  startMosquitto,
  type ControlPlane,
  type Mosquitto,
  type TestCertificates,
} from '@wasmfleet/test-support';
import { CLI_BIN, cli, namespaceFor, sharedControlPlane } from './helpers.ts';

describe('wasmfleet logs and invoke over a real Mosquitto', () => {
  let plane: ControlPlane;
  let broker: Mosquitto;
  let device: MqttClient;
  let ns: string;
  const run = (args: readonly string[], env: NodeJS.ProcessEnv = {}) =>
    cli([...args, '-n', ns], plane.kubeconfigPath, { WASMFLEET_BROKER: broker.url, ...env });

  async function createFunction(name: string, inputs: object[], outputs: object[]): Promise<void> {
    const manifest = {
      apiVersion: 'wasmfleet.io/v1alpha1',
      kind: 'WasmFunction',
      metadata: { name, namespace: ns },
      spec: { module: { configMap: { name: 'm', key: 'module.wasm' } }, inputs, outputs },
    };
    const r = await plane.kubectl(['apply', '-f', '-'], { stdin: JSON.stringify(manifest) });
    assert.equal(r.code, 0, r.stderr);
  }

  before(async () => {
    plane = await sharedControlPlane();
    broker = await startMosquitto();
    ns = await namespaceFor(plane, 'cli-mqtt');
    await createFunction(
      'temp-alert',
      [{ topic: 'sensors/{node}/temperature', qos: 1, format: 'senml' }],
      [{ topic: 'alerts/{node}/temperature', qos: 1 }],
    );
    await createFunction(
      'router',
      [{ topic: 'lines/{node}/+', format: 'raw' }],
      [{ topic: 'routed/{node}' }],
    );
    await createFunction('silent', [{ topic: 'quiet/{node}/in' }], [{ topic: 'quiet/{node}/out' }]);
    // The stand-in agent: answers temperature readings and routed lines for any node.
    device = await mqtt.connectAsync(broker.url, { clientId: 'fake-agent' });
    device.on('message', (topic, payload) => {
      const [kind, node] = topic.split('/');
      if (kind === 'sensors') {
        const v = (JSON.parse(payload.toString()) as { v: number }[])[0]?.v ?? 0;
        device.publish(`alerts/${node}/temperature`, JSON.stringify({ alert: v > 30, v }), { qos: 1 });
      } else if (kind === 'lines') {
        device.publish(`routed/${node}`, `routed:${payload.toString()}`, { qos: 0 });
      }
    });
    await device.subscribeAsync(['sensors/+/temperature', 'lines/+/+'], { qos: 1 });
    // A stale retained output from long ago: invoke must not take it for an answer.
    await device.publishAsync('alerts/pump-7/temperature', '{"stale":true}', { qos: 1, retain: true });
  });

  after(async () => {
    await device.endAsync();
    await broker.dispose();
  });

  it('logs: prints NODE TIME LEVEL TEXT; --node, --since and -o json filter and format', async () => {
    const line = (node: string, text: string, level = 'info', ts = new Date().toISOString()) =>
      JSON.stringify({
        version: 1,
        ts,
        level,
        namespace: ns,
        name: 'temp-alert',
        node,
        revision: 'h1',
        text,
      });
    const all = run(['logs', 'temp-alert', '--window', '4s']);
    const oneNode = run([
      'logs',
      'temp-alert',
      '--node',
      'node-b',
      '--since',
      '1m',
      '-o',
      'json',
      '--window',
      '4s',
    ]);
    // Publish for longer than the CLIs need to start and listen.
    for (let i = 0; i < 25; i++) {
      device.publish(`wasmfleet/v1/logs/${ns}/temp-alert/node-a`, line('node-a', `hello ${i}`));
      device.publish(`wasmfleet/v1/logs/${ns}/temp-alert/node-b`, line('node-b', `overheat ${i}`, 'warn'));
      device.publish(
        `wasmfleet/v1/logs/${ns}/temp-alert/node-b`,
        line('node-b', 'ancient', 'info', '2020-01-01T00:00:00Z'),
      );
      device.publish(`wasmfleet/v1/logs/${ns}/temp-alert/node-a`, 'not json');
      device.publish(`wasmfleet/v1/logs/${ns}/other-fn/node-a`, line('node-a', 'other function'));
      await sleep(200);
    }
    const a = await all;
    assert.equal(a.exitCode, 0, a.stderr);
    assert.match(a.stdout, /^node-a {8}\d{4}-\d\d-\d\dT\S+Z {2}INFO {3}hello \d+$/m);
    assert.match(a.stdout, /^node-b\s+\S+ {2}WARN {3}overheat \d+$/m);
    assert.doesNotMatch(a.stdout, /other function/);
    assert.match(
      a.stderr,
      /warning: skipped a malformed log line on wasmfleet\/v1\/logs\/.*node-a: log line is not valid UTF-8 JSON/,
    );
    const b = await oneNode;
    assert.equal(b.exitCode, 0, b.stderr);
    const parsed = b.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { node: string; text: string });
    assert.ok(parsed.length > 0);
    assert.ok(
      parsed.every((l) => l.node === 'node-b' && l.text.startsWith('overheat')),
      b.stdout,
    );
  });

  it('logs -f: follows until interrupted, then exits 0', async () => {
    const child = spawn(
      process.execPath,
      [CLI_BIN, 'logs', 'temp-alert', '-f', '-n', ns, '--kubeconfig', plane.kubeconfigPath],
      { env: { ...process.env, NO_COLOR: '1', WASMFLEET_BROKER: broker.url } },
    );
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const line = JSON.stringify({
      version: 1,
      ts: new Date().toISOString(),
      level: 'error',
      namespace: ns,
      name: 'temp-alert',
      node: 'node-c',
      revision: 'h1',
      text: 'followed',
    });
    for (let i = 0; i < 100 && !stdout.includes('followed'); i++) {
      device.publish(`wasmfleet/v1/logs/${ns}/temp-alert/node-c`, line);
      await sleep(100);
    }
    assert.match(stdout, /^node-c\s+\S+ {2}ERROR {2}followed$/m);
    child.kill('SIGINT');
    assert.equal(await exited, 0);
  });

  it('logs: says when nothing arrived in the window, and that -f follows', async () => {
    const r = await run(['logs', 'silent', '--window', '500ms']);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stderr, /No log lines from "silent" within 500ms .*Use -f to keep following/);
  });

  it('logs: no broker given, or one that is not there, is explained with --broker', async () => {
    const none = await run(['logs', 'temp-alert'], { WASMFLEET_BROKER: undefined });
    assert.equal(none.exitCode, 1);
    assert.match(
      none.stderr,
      /error: no MQTT broker given\nhint: pass --broker mqtt:\/\/host:1883 \(or set WASMFLEET_BROKER\)/,
    );
    const port = await freePort();
    const down = await run(['logs', 'temp-alert', '--broker', `mqtt://127.0.0.1:${port}`]);
    assert.equal(down.exitCode, 1);
    assert.match(
      down.stderr,
      new RegExp(`cannot reach the MQTT broker at mqtt://127.0.0.1:${port} \\(ECONNREFUSED\\)`),
    );
    assert.match(down.stderr, /hint: .*--broker/);
  });

  it('invoke: publishes to the expanded input and prints the output (ignoring a stale retained one)', async () => {
    const r = await run([
      'invoke',
      'temp-alert',
      '--node',
      'pump-7',
      '--payload',
      '[{"n":"temperature","v":35}]',
    ]);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.stdout, 'alerts/pump-7/temperature  {"alert":true,"v":35}\n');
  });

  it('invoke: a wildcard input needs --input-topic; with it, -o json prints the output', async () => {
    const missing = await run(['invoke', 'router', '--node', 'gw-1', '--payload', 'x']);
    assert.equal(missing.exitCode, 1);
    assert.match(
      missing.stderr,
      /input filter lines\/gw-1\/\+ has wildcards[\s\S]*--input-topic lines\/gw-1\/x/,
    );
    const r = await run([
      'invoke',
      'router',
      '--node',
      'gw-1',
      '--input-topic',
      'lines/gw-1/l3',
      '--payload',
      'hi',
      '-o',
      'json',
    ]);
    assert.equal(r.exitCode, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { topic: string; payload: string };
    assert.deepEqual([out.topic, out.payload], ['routed/gw-1', 'routed:hi']);
  });

  it('invoke: exits 1 with what to check when no output arrives, and refuses a non-SenML payload', async () => {
    const r = await run(['invoke', 'silent', '--node', 'pump-7', '--payload', 'ping', '--timeout', '1s']);
    assert.equal(r.exitCode, 1);
    assert.match(
      r.stderr,
      /no output from "silent" on quiet\/pump-7\/out within 1s \(published to quiet\/pump-7\/in\)/,
    );
    assert.match(r.stderr, /hint: .*wasmfleet logs silent --node pump-7 -f/);
    const bad = await run(['invoke', 'temp-alert', '--node', 'pump-7', '--payload', 'hot']);
    assert.match(bad.stderr, /takes senml but --payload is not JSON[\s\S]*hint: write a SenML array/);
  });
});

describe("wasmfleet invoke over a TLS-only Mosquitto (the chart's broker)", () => {
  let plane: ControlPlane;
  let certs: TestCertificates;
  let broker: Mosquitto;
  let device: MqttClient;
  let ns: string;
  let tlsUrl: string;
  const invoke = (extra: readonly string[], env: NodeJS.ProcessEnv = {}) =>
    cli(
      ['invoke', 'echo', '--node', 'gw-1', '--payload', 'ping', '--timeout', '5s', ...extra, '-n', ns],
      plane.kubeconfigPath,
      { WASMFLEET_BROKER: tlsUrl, WASMFLEET_BROKER_CA: undefined, ...env },
    );

  before(async () => {
    plane = await sharedControlPlane();
    certs = await generateTestCertificates();
    broker = await startMosquitto({
      tls: { caFile: certs.caFile, certFile: certs.serverCertFile, keyFile: certs.serverKeyFile },
      plaintext: false,
    });
    tlsUrl = broker.tlsUrl ?? assert.fail('startMosquitto gave no TLS URL');
    ns = await namespaceFor(plane, 'cli-mqtts');
    const manifest = {
      apiVersion: 'wasmfleet.io/v1alpha1',
      kind: 'WasmFunction',
      metadata: { name: 'echo', namespace: ns },
      spec: {
        module: { configMap: { name: 'm', key: 'module.wasm' } },
        inputs: [{ topic: 'echo/{node}/in', format: 'raw' }],
        outputs: [{ topic: 'echo/{node}/out' }],
      },
    };
    const r = await plane.kubectl(['apply', '-f', '-'], { stdin: JSON.stringify(manifest) });
    assert.equal(r.code, 0, r.stderr);
    device = await mqtt.connectAsync(tlsUrl, {
      clientId: 'fake-tls-agent',
      ca: await readFile(certs.caFile),
    });
    device.on('message', (topic, payload) => {
      const node = topic.split('/')[1];
      device.publish(`echo/${node}/out`, `echo:${payload.toString()}`, { qos: 0 });
    });
    await device.subscribeAsync('echo/+/in', { qos: 1 });
  });

  after(async () => {
    await device.endAsync();
    await broker.dispose();
    await certs.dispose();
  });

  it('--broker-ca (or WASMFLEET_BROKER_CA) verifies the broker, and invoke gets its answer', async () => {
    const flag = await invoke(['--broker-ca', certs.caFile]);
    assert.equal(flag.exitCode, 0, flag.stderr);
    assert.equal(flag.stdout, 'echo/gw-1/out  echo:ping\n');
    const env = await invoke([], { WASMFLEET_BROKER_CA: certs.caFile });
    assert.equal(env.exitCode, 0, env.stderr);
    assert.equal(env.stdout, 'echo/gw-1/out  echo:ping\n');
  });

  it('without the CA, says the certificate cannot be verified and names --broker-ca', async () => {
    const r = await invoke([]);
    assert.equal(r.exitCode, 1);
    assert.match(
      r.stderr,
      new RegExp(
        `cannot verify the certificate of the MQTT broker at ${escape(tlsUrl)} \\((UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)\\)`,
      ),
    );
    assert.match(r.stderr, /hint: pass the CA certificate .* with --broker-ca \(or WASMFLEET_BROKER_CA\)/);
  });

  it('a --broker-ca file that cannot be read is named, with the reason', async () => {
    const missing = `${certs.dir}/no-such-ca.crt`;
    const r = await invoke(['--broker-ca', missing]);
    assert.equal(r.exitCode, 1);
    assert.match(r.stderr, new RegExp(`error: --broker-ca ${escape(missing)} cannot be read \\(ENOENT\\)`));
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
