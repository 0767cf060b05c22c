// One-command join end to end, as a fleet operator and a device owner meet it: the real API
// server, the real operator with per-device identity, a real Mosquitto (TLS, dynamic security),
// the real CLI and the real agent. `wasmfleet nodes join` registers the device and prints one
// command; that command trades the token for the device's own credentials (files only the agent
// may read) and the agent comes Online with them. The same token a second time, an expired one
// and a forged one are each refused with a message that says what happened and what to do.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { appendFile, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { GROUP, VERSION, type EdgeNode } from '@wasmfleet/api';
import {
  generateTestCertificates,
  sharedControlPlane,
  spawnManaged,
  startMosquitto,
  uniqueName,
  waitFor,
  type ControlPlane,
  type Mosquitto,
  type TestCertificates,
} from '@wasmfleet/test-support';
import { startOperator, type RunningOperator } from '../../src/operator.ts';

const AGENT_BIN = fileURLToPath(new URL('../../../agent/bin/wasmfleet-agent.js', import.meta.url));
const CLI_BIN = fileURLToPath(new URL('../../../cli/bin/wasmfleet.ts', import.meta.url));
const ADMIN = 'wasmfleet-operator';
const ADMIN_PASSWORD = 'operator-test-password';

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function run(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      args,
      { env: { ...process.env, NO_COLOR: '1', ...env } },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

describe('wasmfleet nodes join', { timeout: 180_000 }, () => {
  let certs: TestCertificates;
  let broker: Mosquitto;
  let plane: ControlPlane;
  let operator: RunningOperator;
  let namespace: string;
  let fleet: string;
  let scratch: string;
  const cleanups: (() => Promise<unknown>)[] = [];

  const nodesJoin = (node: string, ...extra: string[]): Promise<Run> =>
    run([
      CLI_BIN,
      'nodes',
      'join',
      node,
      '-n',
      namespace,
      '--kubeconfig',
      plane.kubeconfigPath,
      '--labels',
      `wasmfleet.io/fleet=${fleet},site=plant-9`,
      ...extra,
    ]);
  /** Runs the printed command with the agent's launcher, writing into `dir` and starting nothing. */
  const deviceRuns = (command: string, dir: string): Promise<Run> => {
    const words = command.trim().split(/\s+/);
    assert.equal(words[0], 'wasmfleet-agent');
    return run([AGENT_BIN, ...words.slice(1), '--config-dir', dir, '--no-start']);
  };
  const edgeNode = async (name: string): Promise<EdgeNode> => {
    const kc = new KubeConfig();
    kc.loadFromFile(plane.kubeconfigPath);
    return (await kc
      .makeApiClient(CustomObjectsApi)
      .getClusterCustomObject({ group: GROUP, version: VERSION, plural: 'edgenodes', name })) as EdgeNode;
  };

  before(async () => {
    certs = await generateTestCertificates();
    cleanups.push(() => certs.dispose());
    broker = await startMosquitto({
      dynamicSecurity: { adminUsername: ADMIN, adminPassword: ADMIN_PASSWORD },
      tls: { caFile: certs.caFile, certFile: certs.serverCertFile, keyFile: certs.serverKeyFile },
      plaintext: false,
    });
    cleanups.push(() => broker.dispose());
    plane = await sharedControlPlane();
    namespace = uniqueName('join');
    fleet = uniqueName('fleet');
    scratch = await mkdtemp(path.join(tmpdir(), 'device-join-'));
    cleanups.push(() => rm(scratch, { recursive: true, force: true }));
    const created = await plane.kubectl(['create', 'namespace', namespace]);
    assert.equal(created.code, 0, created.stderr);
    const kc = new KubeConfig();
    kc.loadFromFile(plane.kubeconfigPath);
    const ca = readFileSync(certs.caFile);
    operator = startOperator({
      kubeConfig: kc,
      broker: { url: broker.tlsUrl ?? '', username: ADMIN, password: ADMIN_PASSWORD, ca, syncQuietMs: 100 },
      identity: { namespace, deviceBrokerUrl: broker.tlsUrl ?? '', ca: ca.toString('utf8') },
      leaderElection: false,
      scope: { namespace, fleet },
      log: (line) => void appendFile(path.join(scratch, 'operator.log'), `${line}\n`),
    });
    cleanups.push(() => operator.stop());
    await operator.ready;
  });
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('registers the device, and the printed command gets it its own credentials and brings it Online', async () => {
    const node = uniqueName('pump');
    const printed = await nodesJoin(node);
    assert.equal(printed.code, 0, printed.stderr);
    assert.match(printed.stderr, new RegExp(`edgenode.wasmfleet.io/${node} created`));
    const command = printed.stdout.trim();
    assert.match(
      command,
      /^wasmfleet-agent join mqtts:\/\/\S+ --token wfjoin\.[a-f0-9]{16}\.\S{43} --ca \S+$/,
    );
    assert.equal((await edgeNode(node)).metadata.labels?.site, 'plant-9');
    // The cluster keeps a hash of the token, never the token.
    const secrets = await plane.kubectl([
      'get',
      'secrets',
      '-n',
      namespace,
      '-l',
      'wasmfleet.io/join-token=true',
      '-o',
      'json',
    ]);
    const token = /--token (\S+)/.exec(command)?.[1] ?? '';
    assert.ok(!secrets.stdout.includes(Buffer.from(token.split('.')[2] ?? '').toString('base64')));

    const dir = path.join(scratch, node);
    const joined = await deviceRuns(command, dir);
    assert.equal(joined.code, 0, joined.stderr);
    assert.match(joined.stdout, new RegExp(`joined the fleet as ${node}`));
    assert.equal((await stat(path.join(dir, 'mqtt-password'))).mode & 0o777, 0o600);
    assert.equal((await stat(path.join(dir, 'agent.env'))).mode & 0o777, 0o600);
    const env = Object.fromEntries(
      (await readFile(path.join(dir, 'agent.env'), 'utf8'))
        .split('\n')
        .filter((l) => /^[A-Z_]+=/.test(l))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    assert.equal(env.WASMFLEET_NODE, node);
    assert.equal(env.WASMFLEET_MQTT_USERNAME, node);

    const agent = spawnManaged(`agent ${node}`, process.execPath, {
      args: [AGENT_BIN, '--data-dir', path.join(dir, 'data'), '--heartbeat', '1'],
      env: { ...process.env, ...env },
      logFile: path.join(scratch, `${node}.log`),
    });
    cleanups.push(() => agent.stop());
    await waitFor(
      `${node} Online`,
      async () => ((await edgeNode(node)).status?.phase === 'Online' ? true : undefined),
      {
        timeoutMs: 60_000,
        intervalMs: 250,
      },
    );

    const again = await deviceRuns(command, path.join(scratch, `${node}-again`));
    assert.equal(again.code, 1);
    assert.match(
      again.stderr,
      /refused the token \(Used\): this token was already used \(at .*\) and works only once; run `wasmfleet nodes join .*` again/,
    );
  });

  it('refuses an expired token and says how to get a new one', async () => {
    const node = uniqueName('late');
    const printed = await nodesJoin(node, '--ttl', '1s');
    assert.equal(printed.code, 0, printed.stderr);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const late = await deviceRuns(printed.stdout, path.join(scratch, node));
    assert.equal(late.code, 1);
    assert.match(
      late.stderr,
      new RegExp(
        `refused the token \\(Expired\\): this token expired at .*; run \`wasmfleet nodes join ${node}\` again for a new one`,
      ),
    );
  });

  it('refuses a token the cluster never issued', async () => {
    const printed = await nodesJoin(uniqueName('real'));
    const forged = printed.stdout.replace(
      /wfjoin\.([a-f0-9]{16})\.(\S{43})/,
      (_m, id: string) => `wfjoin.${id}.${'A'.repeat(43)}`,
    );
    const refused = await deviceRuns(forged, path.join(scratch, 'forged'));
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /refused the token \(Forged\): this cluster did not issue this token/);
    const garbage = await run([AGENT_BIN, 'join', broker.tlsUrl ?? '', '--token', 'not-a-token']);
    assert.equal(garbage.code, 2);
    assert.match(garbage.stderr, /--token is not a join token/);
  });
});
