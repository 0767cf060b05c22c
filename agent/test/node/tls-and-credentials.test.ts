// SPDX-License-Identifier: Apache-2.0
// Secure connections, as a device owner sets them up: the real agent binary against a real
// Mosquitto with TLS, mutual TLS and a password file, configured by flags or by environment.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import {
  generateTestCertificates,
  logLineTime,
  startMosquitto,
  waitFor,
  writeMosquittoPasswordFile,
  type Mosquitto,
  type TestCertificates,
} from '@wasmfleet/test-support';
import { waitForStatus } from '../helpers/fleet.ts';
import { tempDir } from '../helpers/tmp.ts';

const AGENT_BIN = fileURLToPath(new URL('../../bin/wasmfleet-agent.js', import.meta.url));

/** Agent settings come from the environment too: start every agent from a clean one. */
function cleanEnv(extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('WASMFLEET_')) env[key] = value;
  }
  return { ...env, ...extra };
}

interface RunningAgent {
  readonly child: ChildProcess;
  log(): string;
  /** Resolves once a line of the agent's stderr matches `pattern`. */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /**
   * Resolves once lines matching `pattern` were logged at least `apartMs` apart: the agent failed,
   * waited, and tried again (one attempt can log twice: mqtt.js reports some TLS failures twice).
   */
  waitForRetry(pattern: RegExp, apartMs?: number, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

function spawnAgent(args: readonly string[], env: NodeJS.ProcessEnv = cleanEnv()): RunningAgent {
  const child = spawn(process.execPath, [AGENT_BIN, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env,
  });
  let log = '';
  child.stderr.on('data', (chunk: Buffer) => (log += chunk.toString('utf8')));
  const exited = once(child, 'exit');
  const until = (what: string, timeoutMs = 15_000, done: (lines: string[]) => boolean): Promise<void> =>
    waitFor(
      what,
      () => {
        if (child.exitCode !== null) throw new Error(`the agent exited (${child.exitCode}):\n${log}`);
        return done(log.split('\n')) ? true : undefined;
      },
      { timeoutMs, intervalMs: 25 },
    ).then(
      () => undefined,
      (error: unknown) => {
        throw new Error(`${(error as Error).message}; its log:\n${log}`, { cause: error });
      },
    );
  return {
    child,
    log: () => log,
    waitForLog: (pattern, timeoutMs) =>
      until(`the agent to log ${String(pattern)}`, timeoutMs, (lines) => lines.some((l) => pattern.test(l))),
    waitForRetry: (pattern, apartMs = 200, timeoutMs) =>
      until(`the agent to log ${String(pattern)} again after a retry`, timeoutMs, (lines) => {
        const times = lines.filter((l) => pattern.test(l)).map(logLineTime);
        return times.length >= 2 && Math.max(...times) - Math.min(...times) >= apartMs;
      }),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}

/** Runs the agent to completion (for settings it must refuse at start). */
async function runAgent(
  args: readonly string[],
  env: NodeJS.ProcessEnv = cleanEnv(),
): Promise<{ code: number | null; stderr: string }> {
  const agent = spawnAgent(args, env);
  const timer = setTimeout(() => agent.child.kill('SIGKILL'), 15_000);
  const [code] = (await once(agent.child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, stderr: agent.log() };
}

let certs: TestCertificates;
let ca: Buffer;

async function observer(url: string, extra: IClientOptions = {}): Promise<MqttClient> {
  return mqtt.connectAsync(url, {
    protocolVersion: 5,
    reconnectPeriod: 0,
    connectTimeout: 5_000,
    ca,
    ...extra,
  });
}

async function assertOnline(client: MqttClient, node: string): Promise<void> {
  const status = await waitForStatus(client, node, (s) => s.state === 'online');
  assert.equal(status.node, node);
}

before(async () => {
  certs = await generateTestCertificates({ clientCommonName: 'mtls-1' });
  ca = readFileSync(certs.caFile);
});
after(async () => {
  await certs.dispose();
});

describe('an agent pointed at a TLS broker (mqtts://) with --ca', () => {
  let broker: Mosquitto;
  let watcher: MqttClient;
  before(async () => {
    broker = await startMosquitto({
      tls: { caFile: certs.caFile, certFile: certs.serverCertFile, keyFile: certs.serverKeyFile },
    });
    watcher = await observer(broker.tlsUrl ?? '');
  });
  after(async () => {
    await watcher.endAsync();
    await broker.dispose();
  });

  it('comes online over TLS, verifying the broker with the CA it was given', async () => {
    await using dir = await tempDir();
    const agent = spawnAgent([
      ...['--broker', broker.tlsUrl ?? '', '--node', 'tls-1', '--data-dir', dir.path],
      ...['--ca', certs.caFile, '--heartbeat', '1'],
    ]);
    try {
      await assertOnline(watcher, 'tls-1');
      await agent.waitForLog(/connected to mqtts:\/\/127\.0\.0\.1/);
    } finally {
      await agent.stop();
    }
  });

  it('without --ca, says it cannot verify the broker and how to fix it, and keeps retrying', async () => {
    await using dir = await tempDir();
    const agent = spawnAgent([
      ...['--broker', broker.tlsUrl ?? '', '--node', 'tls-2', '--data-dir', dir.path],
    ]);
    try {
      await agent.waitForRetry(/cannot verify the TLS certificate/);
      const line =
        agent
          .log()
          .split('\n')
          .find((l) => l.includes('cannot verify')) ?? '';
      assert.ok(line.includes(broker.tlsUrl ?? ''), `the line names the broker: ${line}`);
      assert.match(line, /--ca/, 'the line says which flag fixes it');
      assert.equal(agent.child.exitCode, null, 'the agent is still running');
    } finally {
      await agent.stop();
    }
  });
});

describe('an agent pointed at a broker that requires client certificates (mutual TLS)', () => {
  let broker: Mosquitto;
  let watcher: MqttClient;
  before(async () => {
    broker = await startMosquitto({
      tls: {
        caFile: certs.caFile,
        certFile: certs.serverCertFile,
        keyFile: certs.serverKeyFile,
        requireCertificate: true,
      },
    });
    const operator = await certs.issueClientCertificate('test-operator');
    watcher = await observer(broker.tlsUrl ?? '', {
      cert: readFileSync(operator.certFile),
      key: readFileSync(operator.keyFile),
    });
  });
  after(async () => {
    await watcher.endAsync();
    await broker.dispose();
  });

  it('comes online when given its certificate and key with --cert and --key', async () => {
    await using dir = await tempDir();
    const agent = spawnAgent([
      ...['--broker', broker.tlsUrl ?? '', '--node', 'mtls-1', '--data-dir', dir.path],
      ...['--ca', certs.caFile, '--cert', certs.client.certFile, '--key', certs.client.keyFile],
    ]);
    try {
      await assertOnline(watcher, 'mtls-1');
    } finally {
      await agent.stop();
    }
  });

  it('without a client certificate, says the broker wants one and keeps retrying instead of crashing', async () => {
    await using dir = await tempDir();
    const agent = spawnAgent([
      ...['--broker', broker.tlsUrl ?? '', '--node', 'mtls-2', '--data-dir', dir.path],
      ...['--ca', certs.caFile],
    ]);
    try {
      await agent.waitForRetry(/requires a client certificate/);
      const line =
        agent
          .log()
          .split('\n')
          .find((l) => l.includes('client certificate')) ?? '';
      assert.ok(line.includes(broker.tlsUrl ?? ''), `the line names the broker: ${line}`);
      assert.match(line, /--cert/, 'the line says which flags fix it');
      assert.match(line, /--key/);
      assert.equal(agent.child.exitCode, null, 'the agent is still running');
    } finally {
      await agent.stop();
    }
  });
});

describe('an agent pointed at a broker that requires a user name and password', () => {
  let broker: Mosquitto;
  let watcher: MqttClient;
  let passwordFile: string;
  let wrongPasswordFile: string;
  before(async () => {
    const users = { 'pump-7': 'right horse battery staple', operator: 'operator-secret' };
    const brokerPasswords = await writeMosquittoPasswordFile(path.join(certs.dir, 'mosquitto.passwd'), users);
    passwordFile = path.join(certs.dir, 'pump-7.password');
    wrongPasswordFile = path.join(certs.dir, 'pump-7.wrong-password');
    // A trailing newline, as `echo secret > file` leaves it: not part of the password.
    await writeFile(passwordFile, `${users['pump-7']}\n`, { mode: 0o600 });
    await writeFile(wrongPasswordFile, 'wrong horse battery staple\n', { mode: 0o600 });
    broker = await startMosquitto({
      passwordFile: brokerPasswords,
      tls: { caFile: certs.caFile, certFile: certs.serverCertFile, keyFile: certs.serverKeyFile },
    });
    watcher = await observer(broker.url, { username: 'operator', password: users.operator });
  });
  after(async () => {
    await watcher.endAsync();
    await broker.dispose();
  });

  it('comes online with --username and --password-file', async () => {
    await using dir = await tempDir();
    const agent = spawnAgent([
      ...['--broker', broker.url, '--node', 'pump-7', '--data-dir', dir.path],
      ...['--username', 'pump-7', '--password-file', passwordFile],
    ]);
    try {
      await assertOnline(watcher, 'pump-7');
    } finally {
      await agent.stop();
    }
  });

  it('with a wrong password, names the broker and the credentials to fix, and keeps retrying', async () => {
    await using dir = await tempDir();
    const agent = spawnAgent([
      ...['--broker', broker.url, '--node', 'pump-8', '--data-dir', dir.path],
      ...['--username', 'pump-7', '--password-file', wrongPasswordFile],
    ]);
    try {
      await agent.waitForRetry(/refused the user name or password/);
      const line =
        agent
          .log()
          .split('\n')
          .find((l) => l.includes('refused the user name')) ?? '';
      assert.ok(line.includes(broker.url), `the line names the broker: ${line}`);
      assert.match(line, /user name or password/);
      assert.match(line, /--password-file/, 'the line says which setting to fix');
      assert.ok(!line.includes('wrong horse'), 'the password itself is never logged');
      assert.equal(agent.child.exitCode, null, 'the agent is still running');
    } finally {
      await agent.stop();
    }
  });

  it('comes online over TLS with credentials and CA from WASMFLEET_MQTT_* environment variables', async () => {
    await using dir = await tempDir();
    const agent = spawnAgent(
      ['--broker', broker.tlsUrl ?? '', '--node', 'env-1', '--data-dir', dir.path],
      cleanEnv({
        WASMFLEET_MQTT_USERNAME: 'pump-7',
        WASMFLEET_MQTT_PASSWORD_FILE: passwordFile,
        WASMFLEET_MQTT_CA: certs.caFile,
      }),
    );
    try {
      await assertOnline(watcher, 'env-1');
      await agent.waitForLog(/connected to mqtts:\/\//);
    } finally {
      await agent.stop();
    }
  });
});

describe('an agent given a credential file that does not exist', () => {
  it('exits with code 2 and names the missing --ca file', async () => {
    const missing = path.join(certs.dir, 'no-such-ca.pem');
    const { code, stderr } = await runAgent([
      ...['--broker', 'mqtts://127.0.0.1:1', '--node', 'ca-missing', '--data-dir', certs.dir],
      ...['--ca', missing],
    ]);
    assert.equal(code, 2, stderr);
    assert.ok(stderr.includes(missing), `names the file: ${stderr}`);
    assert.match(stderr, /--ca/);
    assert.doesNotMatch(stderr, /\n\s+at /, 'a message, not a stack trace');
  });

  it('exits with code 2 and names the missing WASMFLEET_MQTT_PASSWORD_FILE', async () => {
    const missing = path.join(certs.dir, 'no-such-password');
    const { code, stderr } = await runAgent(
      ['--broker', 'mqtt://127.0.0.1:1', '--node', 'pw-missing', '--data-dir', certs.dir],
      cleanEnv({ WASMFLEET_MQTT_USERNAME: 'pump-7', WASMFLEET_MQTT_PASSWORD_FILE: missing }),
    );
    assert.equal(code, 2, stderr);
    assert.ok(stderr.includes(missing), `names the file: ${stderr}`);
    assert.match(stderr, /WASMFLEET_MQTT_PASSWORD_FILE/);
  });
});
