// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import { startMosquitto, waitFor, type Mosquitto } from '@wasmfleet/test-support';
import { CLI_BIN, cli } from './helpers.ts';

describe('wasmfleet init', () => {
  it('scaffolds a C function with its SDK, build script and a function.yaml', async () => {
    const dir = path.join(await mkdtemp(path.join(tmpdir(), 'init-')), 'my-filter');
    const r = await cli(['init', 'my-filter', '--lang', 'c', '--dir', dir]);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /created .*my-filter \(c\)/);
    const files = await readdir(dir, { recursive: true });
    assert.ok(files.includes('function.yaml'), files.join(', '));
    assert.match(await readFile(path.join(dir, 'function.yaml'), 'utf8'), /name: my-filter/);
  });

  it('refuses a bad name, an unknown language and a non-empty folder, saying what to do', async () => {
    assert.match(
      (await cli(['init', 'Bad_Name', '--lang', 'c', '--dir', path.join(tmpdir(), 'x-bad')])).stderr,
      /invalid function name "Bad_Name"/,
    );
    assert.match(
      (await cli(['init', 'ok', '--lang', 'rust'])).stderr,
      /Expected --lang=rust to be one of: as, c, go, js/,
    );
    const full = await mkdtemp(path.join(tmpdir(), 'init-full-'));
    await cli(['init', 'one', '--lang', 'as', '--dir', full]);
    const again = await cli(['init', 'two', '--lang', 'as', '--dir', full]);
    assert.equal(again.exitCode, 1);
    assert.match(again.stderr, /is not empty/);
  });
});

describe('wasmfleet sim sensors, agent and operator', () => {
  let broker: Mosquitto;
  before(async () => {
    broker = await startMosquitto();
  });
  after(() => broker.dispose());

  it('sim sensors publishes SenML readings for each device', async () => {
    const client = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
    const got: string[] = [];
    client.on('message', (topic, payload) => got.push(`${topic} ${payload.toString()}`));
    await client.subscribeAsync('sensors/#', { qos: 1 });
    const r = await cli([
      'sim',
      'sensors',
      '--broker',
      broker.url,
      '--node',
      'n1',
      '--node',
      'n2',
      '--count',
      '3',
      '--interval',
      '100',
    ]);
    assert.equal(r.exitCode, 0, r.stderr);
    await waitFor('readings', () =>
      got.some((g) => g.startsWith('sensors/n2/temperature')) ? true : undefined,
    );
    const reading = JSON.parse(
      got
        .find((g) => g.startsWith('sensors/n1/temperature'))!
        .split(' ')
        .slice(1)
        .join(' '),
    ) as { n: string; u: string; v: number }[];
    assert.equal(reading[0]?.n, 'temperature');
    assert.equal(reading[0].u, 'Cel');
    await client.endAsync();
  });

  it('agent runs the device agent with its flags, and stops cleanly on SIGTERM', async () => {
    const client = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
    const statuses: string[] = [];
    client.on('message', (_t, payload) => statuses.push(payload.toString()));
    await client.subscribeAsync('wasmfleet/v1/nodes/cli-agent/status', { qos: 1 });
    const data = await mkdtemp(path.join(tmpdir(), 'cli-agent-'));
    const child = spawn(
      process.execPath,
      [CLI_BIN, 'agent', '--broker', broker.url, '--node', 'cli-agent', '--data-dir', data],
      { stdio: 'ignore' },
    );
    await waitFor(
      'the agent online',
      () => (statuses.some((s) => s.includes('"state":"online"')) ? true : undefined),
      { timeoutMs: 20_000 },
    );
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 0);
    await client.endAsync();
  });

  it('agent and operator explain a missing broker', async () => {
    assert.match((await cli(['agent', '--node', 'x'])).stderr, /broker/);
    const op = await cli(['operator']);
    assert.notEqual(op.exitCode, 0);
    assert.match(op.stderr, /--broker is required/);
  });
});
