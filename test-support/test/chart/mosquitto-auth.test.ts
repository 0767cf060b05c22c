// SPDX-License-Identifier: Apache-2.0
// The chart's Mosquitto as it will run in the cluster, minus the container: its rendered
// mosquitto.conf, its generated TLS certificate, and its init container's script (the operator
// becomes the dynamic-security admin), run against the real Mosquitto. Proves the broker serves
// TLS only, refuses anonymous clients and wrong passwords, and lets the operator create a device
// whose role keeps it on its own topics.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { startMosquitto, type Mosquitto } from '../../src/index.ts';
import { ALL_OPTIONS, find, render } from './helm.ts';

const run = promisify(execFile);
const NOT_AUTHORIZED = 135;
/** The name the generated certificate must carry: the Service, as pods and devices reach it. */
const SERVICE_HOST = 'fleet-wasmfleet-mosquitto.edge.svc';
let broker: Mosquitto;
let dir: string;
let operatorPassword: string;
let ca: string;

before(
  async () => {
    const { manifests } = await render({ release: 'fleet', namespace: 'edge', values: ALL_OPTIONS });
    const config = find(manifests, 'ConfigMap', '-mosquitto') as { data?: Record<string, string> };
    const secret = find(manifests, 'Secret', '-mqtt-credentials') as { data?: Record<string, string> };
    const tls = find(manifests, 'Secret', '-mqtt-tls') as { data?: Record<string, string> };
    const deployment = find(manifests, 'Deployment', '-mosquitto') as {
      spec?: { template?: { spec?: { initContainers?: { command?: string[] }[] } } };
    };
    const script = deployment.spec?.template?.spec?.initContainers?.[0]?.command?.[2];
    const conf = config.data?.['mosquitto.conf'];
    const password = secret.data?.['wasmfleet-operator'];
    assert.ok(conf && password && tls.data && script, 'rendered broker parts');
    operatorPassword = Buffer.from(password, 'base64').toString();
    const pem = (key: string) => Buffer.from(tls.data?.[key] ?? '', 'base64').toString();
    ca = pem('ca.crt');

    // The rendered configuration serves one listener, with TLS, and nobody anonymous.
    const lines = conf.split('\n').map((l) => l.trim());
    assert.deepEqual(
      lines.filter((l) => l.startsWith('listener ')),
      ['listener 8883'],
    );
    for (const expected of [
      'allow_anonymous false',
      'certfile /mosquitto/tls/tls.crt',
      'keyfile /mosquitto/tls/tls.key',
    ])
      assert.ok(lines.includes(expected), `${expected} in\n${conf}`);

    dir = await mkdtemp(path.join(tmpdir(), 'wasmfleet-chart-mosquitto-'));
    // The volumes: the operator's password (one key, mounted as `password`), the TLS Secret.
    await mkdir(path.join(dir, 'credentials'));
    await mkdir(path.join(dir, 'data'));
    await writeFile(path.join(dir, 'credentials', 'password'), operatorPassword);
    for (const key of ['tls.crt', 'tls.key', 'ca.crt']) await writeFile(path.join(dir, key), pem(key));
    const at = (p: string): string =>
      p
        .replaceAll('/credentials', path.join(dir, 'credentials'))
        .replaceAll('/mosquitto/data', path.join(dir, 'data'));
    // The init container's own script, with the volume paths moved into the scratch directory;
    // run twice, as on a container restart: the second run keeps the existing configuration.
    for (let i = 0; i < 2; i++) {
      await run('/bin/sh', ['-ec', at(script)], {
        env: { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/bin` },
      });
    }
    // The rendered settings that decide who gets in. The plugin is this machine's build (the
    // rendered path is the image's); listener and persistence stay test-support's (loopback port,
    // scratch directory).
    const anonymous = lines.filter((line) => line.startsWith('allow_anonymous'));
    const configFile = lines.find((line) => line.startsWith('plugin_opt_config_file '))?.split(' ')[1];
    assert.ok(configFile && lines.some((line) => line.startsWith('plugin ')), conf);
    broker = await startMosquitto({
      extraConfig: anonymous,
      dynamicSecurity: { configFile: at(configFile) },
      tls: {
        caFile: path.join(dir, 'ca.crt'),
        certFile: path.join(dir, 'tls.crt'),
        keyFile: path.join(dir, 'tls.key'),
      },
      plaintext: false,
    });
  },
  { timeout: 15 * 60_000 },
);

after(async () => {
  await broker.dispose();
  await rm(dir, { recursive: true, force: true });
});

function tlsOptions(extra: IClientOptions = {}): IClientOptions {
  return {
    protocolVersion: 5,
    reconnectPeriod: 0,
    connectTimeout: 5_000,
    ca,
    // Devices reach the broker by its Service name: the generated certificate must name it (Node
    // checks the certificate against servername when one is given, not the address dialled).
    servername: SERVICE_HOST,
    ...extra,
  };
}

function login(username?: string, password?: string): Promise<MqttClient> {
  return mqtt.connectAsync(
    broker.tlsUrl ?? '',
    tlsOptions({ ...(username ? { username } : {}), ...(password ? { password } : {}) }),
  );
}

async function dynsec(client: MqttClient, commands: Record<string, unknown>[]): Promise<unknown[]> {
  const answer = new Promise<unknown[]>((resolve) =>
    client.on('message', (topic, payload) => {
      if (topic === '$CONTROL/dynamic-security/v1/response')
        resolve((JSON.parse(payload.toString()) as { responses: unknown[] }).responses);
    }),
  );
  await client.publishAsync('$CONTROL/dynamic-security/v1', JSON.stringify({ commands }), { qos: 1 });
  return answer;
}

describe('the chart Mosquitto (rendered config, real broker)', () => {
  it('serves TLS only, with a certificate for its Service name signed by the generated CA', async () => {
    await assert.rejects(
      mqtt.connectAsync(broker.url, { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 3_000 }),
      'a plain-text client gets no session',
    );
    const operator = await login('wasmfleet-operator', operatorPassword);
    await operator.endAsync();
  });

  it('refuses anonymous clients and wrong passwords', async () => {
    for (const [user, password] of [
      [undefined, undefined],
      ['wasmfleet-operator', 'wrong'],
    ] as const) {
      await assert.rejects(login(user, password), (error: { code?: number }) => {
        assert.equal(error.code, NOT_AUTHORIZED);
        return true;
      });
    }
  });

  it('makes the operator the dynamic-security admin, whose devices stay on their own topics', async () => {
    const operator = await login('wasmfleet-operator', operatorPassword);
    try {
      await operator.subscribeAsync('$CONTROL/dynamic-security/v1/response', { qos: 1 });
      const responses = await dynsec(operator, [
        {
          command: 'createRole',
          rolename: 'wasmfleet-device-pump-7',
          acls: [
            { acltype: 'subscribeLiteral', topic: 'wasmfleet/v1/nodes/pump-7/desired', allow: true },
            { acltype: 'publishClientSend', topic: 'wasmfleet/v1/nodes/pump-7/status', allow: true },
          ],
        },
        {
          command: 'createClient',
          username: 'pump-7',
          password: 'pump-7-secret',
          roles: [{ rolename: 'wasmfleet-device-pump-7' }],
        },
      ]);
      assert.deepEqual(
        responses.map((r) => (r as { error?: string }).error),
        [undefined, undefined],
        JSON.stringify(responses),
      );
      const device = await login('pump-7', 'pump-7-secret');
      try {
        const own = await device.subscribeAsync('wasmfleet/v1/nodes/pump-7/desired', { qos: 1 });
        assert.equal(own[0]?.qos, 1);
        await assert.rejects(device.subscribeAsync('wasmfleet/v1/nodes/gw-1/desired', { qos: 1 }));
        await assert.rejects(
          device.publishAsync('wasmfleet/v1/nodes/gw-1/status', 'forged', { qos: 1 }),
          (error: { code?: number }) => {
            assert.equal(error.code, NOT_AUTHORIZED);
            return true;
          },
        );
      } finally {
        await device.endAsync();
      }
    } finally {
      await operator.endAsync();
    }
  });
});
