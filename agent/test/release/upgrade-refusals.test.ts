// SPDX-License-Identifier: Apache-2.0
// A device refuses an agent upgrade it cannot trust, the way a fleet operator meets it: one agent
// unpacked from the release tarball and started by wasmfleet-agent-supervise, against Mosquitto,
// told on its agent topic (what an AgentRollout publishes) to upgrade to a real second release.
// A tarball whose bytes are not the digest named, a signature made for other bytes, a release
// signed by a stranger's key under the trusted key's name, and one signed by a key the device
// never installed are each refused: the device reports `agentUpgrade: Failed` with the reason,
// installs nothing beside its release and keeps running its version. A target that arrives while
// another is still downloading is acted on after it. The same release with its own digest and
// signature is then installed and run, so the refusals are the checks at work.
import assert from 'node:assert/strict';
import { copyFile, mkdir, readdir } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { MqttClient } from 'mqtt';
import { agentTargetTopic, signRelease, type AgentTarget, type NodeStatus } from '@wasmfleet/api';
import { spawnManaged, startMosquitto, uniqueName, type Mosquitto } from '@wasmfleet/test-support';
import { connect, waitForStatus } from '../helpers/fleet.ts';
import { buildRelease, type BuiltRelease } from '../helpers/release.ts';
import { tempDir } from '../helpers/tmp.ts';

const run = promisify(execFile);
const NEXT = '0.3.9';

type Artifact = NonNullable<AgentTarget['agent']['artifact']>;

describe('a device refusing an agent upgrade it cannot trust', { timeout: 30 * 60_000 }, () => {
  const node = uniqueName('upgrade-refusals');
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let installed: BuiltRelease;
  let next: BuiltRelease;
  let broker: Mosquitto;
  let observer: MqttClient;
  let server: Server;
  let url: string;
  const cleanups: (() => Promise<unknown>)[] = [];
  const versionsDir = (): string => path.join(dir.path, 'state/versions');
  /** What the next release's manifest says a rollout should name. */
  const genuine = (): Artifact => ({
    url,
    sha256: next.manifest.tarball.sha256,
    keyId: next.manifest.keyId,
    ed25519: next.manifest.tarball.signature,
  });
  /** Publishes the agent target an AgentRollout would, retained on the device's agent topic. */
  const tell = async (artifact: Artifact, deadlineSeconds = 60): Promise<void> => {
    const target: AgentTarget = { version: 1, node, agent: { version: NEXT, deadlineSeconds, artifact } };
    await observer.publishAsync(agentTargetTopic(node), JSON.stringify(target), { qos: 1, retain: true });
  };
  /** The first report of a refusal made after `since` (an earlier one is retained on the topic). */
  const refusedWith = async (reason: string, since: number): Promise<NodeStatus> => {
    const status = await waitForStatus(
      observer,
      node,
      (s) =>
        s.agentUpgrade?.phase === 'Failed' &&
        s.agentUpgrade.reason === reason &&
        Date.parse(s.agentUpgrade.at ?? '') >= since,
      60_000,
    );
    assert.equal(status.agentUpgrade?.version, NEXT);
    return status;
  };

  before(async () => {
    dir = await tempDir('wasmfleet-upgrade-refusals-');
    cleanups.push(() => dir[Symbol.asyncDispose]());
    installed = await buildRelease(path.join(dir.path, 'installed'), 'x64', { deb: false });
    next = await buildRelease(path.join(dir.path, 'next'), 'x64', { version: NEXT, deb: false });
    const www = path.join(dir.path, 'www');
    await mkdir(www);
    await copyFile(next.tarball, path.join(www, path.basename(next.tarball)));
    server = createServer((req, res) => {
      const stream = createReadStream(path.join(www, path.basename(req.url ?? '')));
      stream.on('error', () => res.writeHead(404).end());
      stream.pipe(res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    url = `http://127.0.0.1:${port}/${path.basename(next.tarball)}`;

    broker = await startMosquitto();
    cleanups.push(() => broker.stop());
    observer = await connect(broker.url);
    cleanups.push(() => observer.endAsync());

    const release = path.join(dir.path, 'release');
    await mkdir(release);
    await run('tar', ['-xzf', installed.tarball, '-C', release, '--strip-components=1']);
    const agent = spawnManaged(
      `supervised agent ${node}`,
      path.join(release, 'bin/wasmfleet-agent-supervise'),
      {
        args: [],
        env: {
          ...process.env,
          WASMFLEET_STATE_DIR: path.join(dir.path, 'state'),
          WASMFLEET_NODE: node,
          WASMFLEET_BROKER: broker.url,
          WASMFLEET_DATA_DIR: path.join(dir.path, 'state/agent'),
          WASMFLEET_HEARTBEAT: '1',
        },
        logFile: path.join(dir.path, 'agent.log'),
      },
    );
    cleanups.push(() => agent.stop());
    const online = await waitForStatus(observer, node, (s) => s.state === 'online', 60_000);
    assert.equal(online.agentVersion, installed.manifest.version);
    assert.equal(online.agentUpgrade?.supported, true, 'the supervised agent says it can upgrade');
  });
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  /** Still online on the version it was installed with, with nothing installed beside it. */
  async function keepsItsVersion(status: NodeStatus): Promise<void> {
    assert.equal(status.state, 'online');
    assert.equal(status.agentVersion, installed.manifest.version);
    const beside = (await readdir(versionsDir()).catch(() => [])).filter((f) => f.startsWith(`${NEXT}-`));
    assert.deepEqual(beside, [], `installed beside the running release: ${beside.join(', ')}`);
  }

  it('refuses a tarball whose bytes are not the digest the rollout names', async () => {
    const since = Date.now();
    await tell({ ...genuine(), sha256: 'f'.repeat(64) });
    const status = await refusedWith('DigestMismatch', since);
    assert.match(
      status.agentUpgrade?.message ?? '',
      /has sha256 [0-9a-f]{64}, not the f{64} the rollout names/,
    );
    await keepsItsVersion(status);
  });

  it("refuses a signature made for other bytes (the installed release's own)", async () => {
    const since = Date.now();
    await tell({ ...genuine(), ed25519: installed.manifest.tarball.signature });
    const status = await refusedWith('SignatureInvalid', since);
    assert.match(
      status.agentUpgrade?.message ?? '',
      new RegExp(`signature of wasmfleet-agent-${NEXT}-linux-x64\\.tar\\.gz does not verify`),
    );
    await keepsItsVersion(status);
  });

  it("refuses a release signed by a stranger's key under the trusted key's name", async () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const forged = signRelease(next.manifest.tarball.sha256, path.basename(next.tarball), privateKey);
    const since = Date.now();
    await tell({ ...genuine(), ed25519: forged.toString('base64') });
    await keepsItsVersion(await refusedWith('SignatureInvalid', since));
  });

  it('refuses a release signed by a key it was never installed with, naming the key', async () => {
    const since = Date.now();
    await tell({ ...genuine(), keyId: 'someone-else' });
    const status = await refusedWith('UntrustedKey', since);
    assert.match(
      status.agentUpgrade?.message ?? '',
      /signed with key someone-else, which this device does not trust/,
    );
    await keepsItsVersion(status);
  });

  it('acts on a target that arrives while it is still downloading another (regression: it was dropped)', async () => {
    // The first needs the whole 45 MB tarball before its digest is known; the second comes at once.
    const since = Date.now();
    await tell({ ...genuine(), sha256: 'e'.repeat(64) });
    await tell({ ...genuine(), keyId: 'corrected-in-flight' });
    const status = await refusedWith('UntrustedKey', since);
    assert.match(status.agentUpgrade?.message ?? '', /key corrected-in-flight/);
    await keepsItsVersion(status);
  });

  it('installs and runs the same release with its own digest and signature', async () => {
    await tell(genuine());
    const upgraded = await waitForStatus(
      observer,
      node,
      (s) => s.state === 'online' && s.agentVersion === NEXT && s.agentUpgrade?.phase === undefined,
      120_000,
    );
    assert.equal(upgraded.agentUpgrade?.version, NEXT);
    const beside = (await readdir(versionsDir())).filter((f) => f.startsWith(`${NEXT}-`));
    assert.deepEqual(beside, [`${NEXT}-${next.manifest.tarball.sha256.slice(0, 12)}`]);
  });
});
