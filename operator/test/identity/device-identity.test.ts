// SPDX-License-Identifier: Apache-2.0
// Per-device MQTT identity against a real Mosquitto (TLS only, dynamic security), the real
// operator and real agents: each EdgeNode gets its own credentials and a role that lets it read
// only its own desired document and the inputs of the functions placed on it, and write only
// its own status, logs and those functions' outputs. Grants follow placement.
// KEEP_SCRATCH=1 keeps the scratch directory (agent and operator logs, the broker's full log).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { GROUP, VERSION, parseNodeStatus, statusTopic, desiredTopic, type EdgeNode } from '@wasmfleet/api';
import {
  generateTestCertificates,
  sharedControlPlane,
  spawnManaged,
  startMosquitto,
  uniqueName,
  waitFor,
  type ControlPlane,
  type ManagedProcess,
  type Mosquitto,
  type TestCertificates,
} from '@wasmfleet/test-support';
import { ensureBuilt } from '@wasmfleet/workloads';
import { startOperator, type OperatorOptions, type RunningOperator } from '../../src/operator.ts';
import { credentialsSecretName } from '../../src/identity/credentials-secret.ts';

const AGENT_BIN = fileURLToPath(new URL('../../../agent/bin/wasmfleet-agent.js', import.meta.url));
const CLI_BIN = fileURLToPath(new URL('../../../cli/bin/wasmfleet.ts', import.meta.url));
const runFile = promisify(execFile);
const ADMIN = 'wasmfleet-operator';
const ADMIN_PASSWORD = 'operator-test-password';
const NOT_AUTHORIZED = 135; // 0x87
const senml = (v: number) => JSON.stringify([{ bn: 'urn:dev:', n: 'temperature', u: 'Cel', v }]);

let certs: TestCertificates;
let ca: Buffer;
let broker: Mosquitto;
let plane: ControlPlane;
let operator: RunningOperator;
/** What before() started, stopped in reverse order by after() (also when before() failed half way). */
const cleanups: (() => Promise<unknown>)[] = [];
let namespace: string;
let fleet: string;
let scratch: string;
let admin: MqttClient;
const agents: ManagedProcess[] = [];
const node = (short: string) => `${fleet}-${short}`;

async function kubectl(args: string[], stdin?: string): Promise<string> {
  const r = await plane.kubectl(args, stdin === undefined ? {} : { stdin });
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function tlsOptions(extra: IClientOptions = {}): IClientOptions {
  return { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5_000, ca, ...extra };
}

/** The device's password, from the Secret the operator made for it. */
async function passwordOf(device: string): Promise<string> {
  const secret = credentialsSecretName(device);
  const b64 = await waitFor(
    `the operator to create Secret ${secret}`,
    async () => {
      const r = await plane.kubectl([
        'get',
        'secret',
        secret,
        '-n',
        namespace,
        '-o',
        'jsonpath={.data.password}',
      ]);
      return r.code === 0 && r.stdout !== '' ? r.stdout : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 200 },
  );
  return Buffer.from(b64, 'base64').toString('utf8');
}

/** Logs in as the device itself (a second connection beside its agent, as an attacker would). */
async function loginAs(device: string): Promise<MqttClient> {
  return mqtt.connectAsync(
    broker.tlsUrl ?? '',
    tlsOptions({ username: device, password: await passwordOf(device), clientId: uniqueName('probe') }),
  );
}

async function subscribeCode(client: MqttClient, filter: string): Promise<number> {
  try {
    const granted = await client.subscribeAsync(filter, { qos: 1 });
    return granted[0]?.qos ?? -1;
  } catch (error) {
    // mqtt.js rejects a refused subscription with the SUBACK itself (reason codes in `granted`).
    const suback = (error as { packet?: { granted?: (number | { qos: number })[] } }).packet;
    const code = suback?.granted?.[0];
    return typeof code === 'number' ? code : (code?.qos ?? -1);
  }
}

async function publishCode(client: MqttClient, topic: string, payload: string): Promise<number> {
  try {
    const packet = await client.publishAsync(topic, payload, { qos: 1 });
    return (packet as { reasonCode?: number } | undefined)?.reasonCode ?? 0;
  } catch (error) {
    return (error as { code?: number }).code ?? -1;
  }
}

function startAgent(device: string, passwordFile: string): ManagedProcess {
  const proc = spawnManaged(`agent ${device}`, process.execPath, {
    args: [
      AGENT_BIN,
      ...['--broker', broker.tlsUrl ?? '', '--node', device, '--data-dir', path.join(scratch, device)],
      ...['--ca', certs.caFile, '--username', device, '--password-file', passwordFile],
      ...['--heartbeat', '1', '--sensors', 'temperature'],
    ],
    logFile: path.join(scratch, `${device}.log`),
  });
  agents.push(proc);
  return proc;
}

function operatorOptions(kc: KubeConfig): OperatorOptions {
  return {
    kubeConfig: kc,
    broker: { url: broker.tlsUrl ?? '', username: ADMIN, password: ADMIN_PASSWORD, ca, syncQuietMs: 100 },
    identity: { namespace, deviceBrokerUrl: broker.tlsUrl ?? '', ca: ca.toString('utf8') },
    leaderElection: false,
    scope: { namespace, fleet },
    log: (line) =>
      void appendFile(path.join(scratch, 'operator.log'), `${new Date().toISOString()} ${line}\n`),
  };
}

async function edgeNode(name: string): Promise<EdgeNode> {
  const kc = new KubeConfig();
  kc.loadFromFile(plane.kubeconfigPath);
  return (await kc.makeApiClient(CustomObjectsApi).getClusterCustomObject({
    group: GROUP,
    version: VERSION,
    plural: 'edgenodes',
    name,
  })) as EdgeNode;
}

before(
  async () => {
    certs = await generateTestCertificates();
    cleanups.push(() => certs.dispose());
    ca = readFileSync(certs.caFile);
    broker = await startMosquitto({
      dynamicSecurity: { adminUsername: ADMIN, adminPassword: ADMIN_PASSWORD },
      tls: { caFile: certs.caFile, certFile: certs.serverCertFile, keyFile: certs.serverKeyFile },
      plaintext: false,
      ...(process.env.KEEP_SCRATCH ? { extraConfig: ['log_type all'] } : {}),
    });
    cleanups.push(async () => {
      if (process.env.KEEP_SCRATCH) await writeFile(path.join(scratch, 'mosquitto.log'), await broker.log());
      await broker.dispose();
    });
    plane = await sharedControlPlane();
    namespace = uniqueName('identity');
    fleet = uniqueName('fleet');
    scratch = await mkdtemp(path.join(tmpdir(), 'device-identity-'));
    cleanups.push(() =>
      process.env.KEEP_SCRATCH ? Promise.resolve() : rm(scratch, { recursive: true, force: true }),
    );
    await kubectl(['create', 'namespace', namespace]);
    const kc = new KubeConfig();
    kc.loadFromFile(plane.kubeconfigPath);
    operator = startOperator(operatorOptions(kc));
    cleanups.push(() => operator.stop());
    await operator.ready;
    admin = await mqtt.connectAsync(
      broker.tlsUrl ?? '',
      tlsOptions({ username: ADMIN, password: ADMIN_PASSWORD, reconnectPeriod: 1_000 }),
    );
    cleanups.push(() => admin.endAsync());
    cleanups.push(() => Promise.allSettled(agents.map((a) => a.stop())));
    for (const short of ['a', 'b']) {
      await kubectl(
        ['apply', '-f', '-'],
        `apiVersion: wasmfleet.io/v1alpha1\nkind: EdgeNode\nmetadata: { name: ${node(short)}, labels: { wasmfleet.io/fleet: ${fleet}, device: ${short} } }\nspec: {}\n`,
      );
      const file = path.join(scratch, `${short}.password`);
      await writeFile(file, `${await passwordOf(node(short))}\n`, { mode: 0o600 });
      startAgent(node(short), file);
    }
    for (const short of ['a', 'b']) {
      await waitFor(
        `${node(short)} Online`,
        async () => ((await edgeNode(node(short))).status?.phase === 'Online' ? true : undefined),
        { timeoutMs: 60_000, intervalMs: 200 },
      );
    }
    const wasm = await readFile(await ensureBuilt('temp-alert'));
    const file = path.join(scratch, 'module.wasm');
    await writeFile(file, wasm);
    await kubectl([
      'create',
      'configmap',
      'temp-alert-wasm',
      '-n',
      namespace,
      `--from-file=module.wasm=${file}`,
    ]);
  },
  { timeout: 10 * 60_000 },
);

after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

const tempAlert = (devices: readonly string[], output = 'alerts/{node}/temperature') =>
  JSON.stringify({
    apiVersion: 'wasmfleet.io/v1alpha1',
    kind: 'WasmFunction',
    metadata: { name: 'temp-alert', namespace },
    spec: {
      module: { configMap: { name: 'temp-alert-wasm', key: 'module.wasm' } },
      placement: {
        nodeSelector: { matchExpressions: [{ key: 'device', operator: 'In', values: devices }] },
      },
      inputs: [{ topic: 'sensors/{node}/temperature', qos: 1, format: 'senml' }],
      outputs: [{ topic: output, qos: 1 }],
      config: { THRESHOLD: '30', HYSTERESIS: '1', SENSOR: 'temperature' },
      limits: { memory: '1Mi', timeout: '50ms' },
    },
  });

describe('the broker with per-device identity', () => {
  it('refuses plain-text and anonymous connections', async () => {
    await assert.rejects(
      mqtt.connectAsync(broker.url, { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 3_000 }),
      'a client that does not speak TLS never gets a session',
    );
    await assert.rejects(mqtt.connectAsync(broker.tlsUrl ?? '', tlsOptions()), (error: { code?: number }) => {
      assert.equal(error.code, NOT_AUTHORIZED);
      return true;
    });
  });

  it('refuses a wrong password, and the agent says which setting to fix', async () => {
    const file = path.join(scratch, 'wrong.password');
    await writeFile(file, 'not-the-password\n', { mode: 0o600 });
    const device = node('wrong');
    const agent = spawnManaged(`agent ${device}`, process.execPath, {
      args: [
        AGENT_BIN,
        ...['--broker', broker.tlsUrl ?? '', '--node', device, '--data-dir', path.join(scratch, device)],
        ...['--ca', certs.caFile, '--username', node('a'), '--password-file', file],
      ],
      logFile: path.join(scratch, `${device}.log`),
    });
    try {
      const line = await waitFor(
        'the agent to report the refused login',
        async () =>
          (await readFile(path.join(scratch, `${device}.log`), 'utf8').catch(() => ''))
            .split('\n')
            .find((l) => l.includes('refused the user name or password')),
        { timeoutMs: 30_000, intervalMs: 100 },
      );
      assert.match(line, /--password-file/);
      assert.ok(!line.includes('not-the-password'), 'the password itself is never logged');
    } finally {
      await agent.stop();
    }
  });

  it('an agent started with another device’s credentials says its subscription was refused', async () => {
    const device = node('impostor');
    const log = path.join(scratch, `${device}.log`);
    const agent = spawnManaged(`agent ${device}`, process.execPath, {
      args: [
        AGENT_BIN,
        ...['--broker', broker.tlsUrl ?? '', '--node', device, '--data-dir', path.join(scratch, device)],
        ...[
          '--ca',
          certs.caFile,
          '--username',
          node('a'),
          '--password-file',
          path.join(scratch, 'a.password'),
        ],
      ],
      logFile: log,
    });
    try {
      const line = await waitFor(
        'the agent to report the refused subscription',
        async () =>
          (await readFile(log, 'utf8').catch(() => ''))
            .split('\n')
            .find((l) => l.includes('refused the subscription')),
        { timeoutMs: 30_000, intervalMs: 100 },
      );
      assert.ok(line.includes(desiredTopic(device)), line);
      assert.match(line, /--node/, 'it says which setting to check');
      assert.equal((await edgeNode(node('a'))).status?.phase, 'Online', 'the real A is undisturbed');
    } finally {
      await agent.stop();
    }
  });

  it("a device cannot read another device's desired state nor forge its status", async () => {
    const a = await loginAs(node('a'));
    try {
      assert.equal(await subscribeCode(a, desiredTopic(node('b'))), NOT_AUTHORIZED, 'SUBACK for B’s desired');
      assert.equal(await subscribeCode(a, desiredTopic(node('a'))), 1, 'its own desired topic is granted');
      const forged = JSON.stringify({ version: 1, node: node('b'), state: 'offline' });
      assert.equal(
        await publishCode(a, statusTopic(node('b')), forged),
        NOT_AUTHORIZED,
        'PUBACK for B’s status',
      );
      // What a user sees: B is still online, and its retained status is still B's own.
      await admin.subscribeAsync(statusTopic(node('b')), { qos: 1 });
      const retained = await new Promise<Buffer>((resolve) =>
        admin.on('message', (topic, payload) => {
          if (topic === statusTopic(node('b'))) resolve(payload);
        }),
      );
      const status = parseNodeStatus(retained);
      assert.ok(status.ok && status.value.state === 'online', `B's status is B's: ${retained.toString()}`);
      assert.equal((await edgeNode(node('b'))).status?.phase, 'Online');
    } finally {
      await admin.unsubscribeAsync(statusTopic(node('b')));
      await a.endAsync();
    }
  });

  it('grants a function’s inputs and outputs when it is placed, and takes them back when it leaves', async () => {
    const a = await loginAs(node('a'));
    try {
      // Before placement: no data topics at all.
      assert.equal(await subscribeCode(a, `sensors/${node('a')}/temperature`), NOT_AUTHORIZED);
      assert.equal(await publishCode(a, `alerts/${node('a')}/temperature`, 'x'), NOT_AUTHORIZED);

      const alerts: string[] = [];
      admin.on('message', (topic) => {
        if (topic.startsWith('alerts/') || topic.startsWith('alerts-v2/')) alerts.push(topic);
      });
      await admin.subscribeAsync(['alerts/#', 'alerts-v2/#'], { qos: 1 });
      await kubectl(['apply', '-f', '-'], tempAlert(['a']));
      await waitFor(
        'the agent on A to run temp-alert and publish an alert for a hot reading',
        async () => {
          await admin.publishAsync(`sensors/${node('a')}/temperature`, senml(35), { qos: 1 });
          return alerts.includes(`alerts/${node('a')}/temperature`) ? true : undefined;
        },
        { timeoutMs: 90_000, intervalMs: 1_000 },
      );

      // Placed on A only: A may read its own input and write its own output, nothing of B's.
      assert.equal(await subscribeCode(a, `sensors/${node('a')}/temperature`), 1);
      assert.equal(await publishCode(a, `alerts/${node('a')}/temperature`, 'x'), 0);
      assert.equal(await subscribeCode(a, `sensors/${node('b')}/temperature`), NOT_AUTHORIZED);
      assert.equal(await publishCode(a, `alerts/${node('b')}/temperature`, 'x'), NOT_AUTHORIZED);
      const b = await loginAs(node('b'));
      try {
        assert.equal(
          await subscribeCode(b, `sensors/${node('b')}/temperature`),
          NOT_AUTHORIZED,
          'nothing placed on B',
        );
      } finally {
        await b.endAsync();
      }

      // A restarted operator adopts what the broker's retained documents say each device runs:
      // it keeps A's grants instead of narrowing A to its control topics.
      await operator.stop();
      const kc = new KubeConfig();
      kc.loadFromFile(plane.kubeconfigPath);
      operator = startOperator(operatorOptions(kc));
      await operator.ready;
      await waitFor(
        'the restarted operator to sync A',
        async () => ((await edgeNode(node('a'))).status?.phase === 'Online' ? true : undefined),
        { timeoutMs: 30_000, intervalMs: 200 },
      );
      await new Promise((resolve) => setTimeout(resolve, 2_000)); // a few heartbeats: A's node reconciles
      assert.equal(await subscribeCode(a, `sensors/${node('a')}/temperature`), 1, 'input kept after restart');
      assert.equal(
        await publishCode(a, `alerts/${node('a')}/temperature`, 'x'),
        0,
        'output kept after restart',
      );

      // A new revision that publishes elsewhere: granted before its document is published (its
      // alerts flow), and the old output is taken back once the device stopped the old revision.
      await kubectl(['apply', '-f', '-'], tempAlert(['a'], 'alerts-v2/{node}/temperature'));
      await waitFor(
        'the new revision to publish on its new output',
        async () => {
          await admin.publishAsync(`sensors/${node('a')}/temperature`, senml(20), { qos: 1 });
          await admin.publishAsync(`sensors/${node('a')}/temperature`, senml(36), { qos: 1 });
          return alerts.includes(`alerts-v2/${node('a')}/temperature`) ? true : undefined;
        },
        { timeoutMs: 90_000, intervalMs: 1_000 },
      );
      await waitFor(
        'the old output grant to be gone once the old revision stopped',
        async () =>
          (await publishCode(a, `alerts/${node('a')}/temperature`, 'x')) === NOT_AUTHORIZED
            ? true
            : undefined,
        { timeoutMs: 60_000, intervalMs: 500 },
      );
      assert.equal(await subscribeCode(a, `sensors/${node('a')}/temperature`), 1, 'the input stays granted');

      await kubectl(['delete', 'wasmfunction', 'temp-alert', '-n', namespace, '--wait=true']);
      await waitFor(
        'A’s grant for the input to be gone',
        async () =>
          (await subscribeCode(a, `sensors/${node('a')}/temperature`)) === NOT_AUTHORIZED ? true : undefined,
        { timeoutMs: 60_000, intervalMs: 500 },
      );
      assert.equal(await publishCode(a, `alerts/${node('a')}/temperature`, 'x'), NOT_AUTHORIZED);
    } finally {
      await a.endAsync();
    }
  });

  it('an installer provisions a new device with `wasmfleet nodes credentials`, and it comes online', async () => {
    const device = node('c');
    await kubectl(
      ['apply', '-f', '-'],
      `apiVersion: wasmfleet.io/v1alpha1\nkind: EdgeNode\nmetadata: { name: ${device}, labels: { wasmfleet.io/fleet: ${fleet} } }\nspec: {}\n`,
    );
    await passwordOf(device); // the operator made its Secret
    const wasmfleet = (args: string[]) =>
      runFile(process.execPath, [CLI_BIN, ...args, '-n', namespace, '--kubeconfig', plane.kubeconfigPath], {
        env: { ...process.env, NO_COLOR: '1' },
      });
    const json = JSON.parse(
      (await wasmfleet(['nodes', 'credentials', device, '-o', 'json'])).stdout,
    ) as Record<string, string>;
    assert.equal(json.node, device);
    assert.equal(json.username, device);
    assert.equal(json.broker, broker.tlsUrl);
    assert.equal(json.ca, ca.toString('utf8'));
    assert.equal(json.password, await passwordOf(device));

    const dir = path.join(scratch, 'provisioned', device);
    await wasmfleet(['nodes', 'credentials', device, '--dir', dir]);
    // The device's environment is exactly agent.env: nothing else tells it where or who it is.
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '' };
    for (const line of (await readFile(path.join(dir, 'agent.env'), 'utf8')).split('\n')) {
      const eq = line.indexOf('=');
      if (eq > 0 && !line.startsWith('#')) env[line.slice(0, eq)] = line.slice(eq + 1);
    }
    assert.ok(!Object.values(env).includes(json.password), 'the password stays in its file');
    agents.push(
      spawnManaged(`agent ${device}`, process.execPath, {
        args: [AGENT_BIN, '--data-dir', path.join(scratch, device), '--heartbeat', '1'],
        env,
        logFile: path.join(scratch, `${device}.log`),
      }),
    );
    await waitFor(
      `${device} Online`,
      async () => ((await edgeNode(device)).status?.phase === 'Online' ? true : undefined),
      { timeoutMs: 60_000, intervalMs: 200 },
    );
  });
});
