// The chart's Mosquitto as it will run in the cluster, minus the container: its rendered
// mosquitto.conf and ACL, and its init container's script turning the credentials Secret into a
// hashed password file, run against the real Mosquitto. Proves per-device credentials: each
// device logs in with its own password and reaches only its own topics; the operator sees all.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import mqtt, { type MqttClient } from 'mqtt';
import { startMosquitto, type Mosquitto } from '../../src/index.ts';
import { ALL_OPTIONS, find, render } from './helm.ts';

const run = promisify(execFile);
let broker: Mosquitto;
let dir: string;
let passwords: Record<string, string>;

before(
  async () => {
    const { manifests } = await render({ release: 'fleet', values: ALL_OPTIONS });
    const config = find(manifests, 'ConfigMap', '-mosquitto') as { data?: Record<string, string> };
    const secret = find(manifests, 'Secret', '-mqtt-credentials') as { data?: Record<string, string> };
    const deployment = find(manifests, 'Deployment', '-mosquitto') as {
      spec?: { template?: { spec?: { initContainers?: { command?: string[] }[] } } };
    };
    const script = deployment.spec?.template?.spec?.initContainers?.[0]?.command?.[2];
    assert.ok(
      config.data?.['mosquitto.conf'] && config.data.acl && secret.data && script,
      'rendered broker parts',
    );

    dir = await mkdtemp(path.join(tmpdir(), 'wasmfleet-chart-mosquitto-'));
    // The Secret volume: one file per key, as the kubelet would project it.
    passwords = Object.fromEntries(
      Object.entries(secret.data).map(([user, b64]) => [user, Buffer.from(b64, 'base64').toString()]),
    );
    await mkdir(path.join(dir, 'credentials'));
    await mkdir(path.join(dir, 'auth'));
    for (const [user, password] of Object.entries(passwords)) {
      await writeFile(path.join(dir, 'credentials', user), password);
    }
    const at = (p: string): string =>
      p
        .replaceAll('/credentials', path.join(dir, 'credentials'))
        .replaceAll('/mosquitto/auth', path.join(dir, 'auth'))
        .replaceAll('/mosquitto/config', dir);
    // The init container's own script, with the volume paths moved into the scratch directory.
    await run('/bin/sh', ['-ec', at(script)], {
      env: { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/bin` },
    });
    await writeFile(path.join(dir, 'acl'), config.data.acl);
    // The rendered settings that decide who gets in and where; listener, persistence and logging
    // stay test-support's (loopback port, scratch directory).
    const settings = config.data['mosquitto.conf']
      .split('\n')
      .filter((line) => /^(allow_anonymous|password_file|acl_file)\b/.test(line))
      .map(at);
    assert.equal(settings.length, 3, config.data['mosquitto.conf']);
    broker = await startMosquitto({ extraConfig: settings });
  },
  { timeout: 15 * 60_000 },
);

after(async () => {
  await broker.dispose();
  await rm(dir, { recursive: true, force: true });
});

function login(username: string | undefined, password: string | undefined): Promise<MqttClient> {
  return mqtt.connectAsync(broker.url, {
    protocolVersion: 5,
    reconnectPeriod: 0,
    connectTimeout: 5_000,
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
  });
}

describe('the chart Mosquitto (rendered config, real broker)', () => {
  it('refuses anonymous clients and wrong passwords', async () => {
    await assert.rejects(login(undefined, undefined), /Not authorized|Bad User Name or Password|connack/i);
    await assert.rejects(
      login('fleet-wasmfleet-sim-0', 'wrong'),
      /Not authorized|Bad User Name or Password/i,
    );
    await assert.rejects(
      login('fleet-wasmfleet-sim-0', passwords['fleet-wasmfleet-sim-1']),
      /Not authorized|Bad User Name or Password/i,
    );
  });

  it('lets a device read only its own desired state, and the operator write everyone’s', async () => {
    const operator = await login('wasmfleet-operator', passwords['wasmfleet-operator']);
    const sim0 = await login('fleet-wasmfleet-sim-0', passwords['fleet-wasmfleet-sim-0']);
    try {
      const own = await sim0.subscribeAsync('wasmfleet/v1/nodes/fleet-wasmfleet-sim-0/desired', { qos: 1 });
      assert.equal(own[0]?.qos, 1);
      // Mosquitto grants the subscription and applies the ACL to each message it would deliver.
      await sim0.subscribeAsync('wasmfleet/v1/nodes/fleet-wasmfleet-sim-1/desired', { qos: 1 });
      const received = new Promise<string>((resolve) => sim0.once('message', (topic) => resolve(topic)));
      await operator.publishAsync('wasmfleet/v1/nodes/fleet-wasmfleet-sim-1/desired', '{}', {
        qos: 1,
        retain: true,
      });
      await operator.publishAsync('wasmfleet/v1/nodes/fleet-wasmfleet-sim-0/desired', '{}', {
        qos: 1,
        retain: true,
      });
      // In order on one connection: had the other device's document passed, it would come first.
      assert.equal(await received, 'wasmfleet/v1/nodes/fleet-wasmfleet-sim-0/desired');
    } finally {
      await Promise.all([operator.endAsync(), sim0.endAsync()]);
    }
  });

  it('drops a device’s status published under another device’s id', async () => {
    const operator = await login('wasmfleet-operator', passwords['wasmfleet-operator']);
    const sim0 = await login('fleet-wasmfleet-sim-0', passwords['fleet-wasmfleet-sim-0']);
    try {
      await operator.subscribeAsync('wasmfleet/v1/nodes/+/status', { qos: 1 });
      const first = new Promise<string>((resolve) => operator.once('message', (topic) => resolve(topic)));
      // Same connection, same QoS: had the forged one passed, it would arrive first.
      await sim0
        .publishAsync('wasmfleet/v1/nodes/fleet-wasmfleet-sim-1/status', 'forged', { qos: 1 })
        .catch(() => undefined);
      await sim0.publishAsync('wasmfleet/v1/nodes/fleet-wasmfleet-sim-0/status', 'mine', { qos: 1 });
      assert.equal(await first, 'wasmfleet/v1/nodes/fleet-wasmfleet-sim-0/status');
    } finally {
      await Promise.all([operator.endAsync(), sim0.endAsync()]);
    }
  });

  it('gives a real device its given password and the sensor topics of the devicePatterns', async () => {
    const device = await login('gw-1', 'given');
    const operator = await login('wasmfleet-operator', passwords['wasmfleet-operator']);
    try {
      await device.subscribeAsync(['sensors/gw-1/temperature', 'sensors/pump-7/temperature'], { qos: 1 });
      const first = new Promise<string>((resolve) => device.once('message', (topic) => resolve(topic)));
      await operator.publishAsync('sensors/pump-7/temperature', '20', { qos: 1 });
      await operator.publishAsync('sensors/gw-1/temperature', '21', { qos: 1 });
      assert.equal(await first, 'sensors/gw-1/temperature');
    } finally {
      await Promise.all([device.endAsync(), operator.endAsync()]);
    }
  });
});
