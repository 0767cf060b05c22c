// SPDX-License-Identifier: Apache-2.0
// An agent upgrade through an AgentRollout across five real agents, each run the way a device runs
// it: unpacked from the release tarball and started by wasmfleet-agent-supervise, with a real
// function, a real Mosquitto, the real operator and API server. The second build is broken: its
// agent starts but never comes online. The canary device fetches it by digest, checks its
// signature, installs it beside the old one and tries it; the supervisor rolls it back after the
// health deadline; the rollout rolls back after its first step; every device ends on the old
// version with its function Running, and none is lost. Then a healthy third build through the same
// AgentRollout: every device tries it, its supervisor makes it current, and the rollout completes.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, createPrivateKey } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { AGENT_ROLLOUT_PLURAL, GROUP, VERSION, signRelease, type AgentRollout } from '@wasmfleet/api';
import { spawnManaged, waitFor, type ManagedProcess } from '@wasmfleet/test-support';
import { ensureBuilt } from '@wasmfleet/workloads';
import { buildRelease, type BuiltRelease } from '../../../agent/test/helpers/release.ts';
import { functionYaml, startHarness, type Harness } from '../operator/harness.ts';

const run = promisify(execFile);
const CLI_BIN = fileURLToPath(new URL('../../../cli/bin/wasmfleet.ts', import.meta.url));
const DEVICES = ['a', 'b', 'c', 'd', 'e'];
const BROKEN = '0.3.1';
const FIXED = '0.3.2';

/** A real release build of `version`, re-packed with its agent pointed at a broker that is not there. */
async function breakRelease(
  second: BuiltRelease,
  work: string,
  version: string,
): Promise<{ file: string; sha256: string; signature: string }> {
  const stem = `wasmfleet-agent-${version}-linux-x64`;
  const tree = path.join(work, 'broken-tree', stem);
  await mkdir(tree, { recursive: true });
  await run('tar', ['-xzf', second.tarball, '-C', tree, '--strip-components=1']);
  const bundle = path.join(tree, 'lib/app/agent/bundle/wasmfleet-agent.js');
  const code = await readFile(bundle, 'utf8');
  // After the #! line; imports are hoisted, so this runs before the agent reads its settings.
  const [shebang = '', ...rest] = code.split('\n');
  await writeFile(
    bundle,
    [shebang, "process.env.WASMFLEET_BROKER = 'mqtt://127.0.0.1:9';", ...rest].join('\n'),
  );
  const file = path.join(work, 'www', `${stem}.tar.gz`);
  await mkdir(path.dirname(file), { recursive: true });
  await run('tar', ['-czf', file, '-C', path.dirname(tree), stem]);
  const sha256 = createHash('sha256')
    .update(await readFile(file))
    .digest('hex');
  // Signed like every build here: with the machine's throwaway release key (agent/release/release-key.ts).
  const cache =
    process.env.WASMFLEET_CACHE_DIR ??
    path.join(process.env.XDG_CACHE_HOME ?? path.join(homedir(), '.cache'), 'wasmfleet');
  const key = createPrivateKey(await readFile(path.join(cache, 'release-keys', 'wasmfleet-throwaway.key')));
  return { file, sha256, signature: signRelease(sha256, path.basename(file), key).toString('base64') };
}

describe('agent rollout with a broken second build', { timeout: 30 * 60_000 }, () => {
  let h: Harness;
  let work: string;
  let server: Server;
  let baseUrl: string;
  let good: BuiltRelease;
  let name: string;
  const agents: ManagedProcess[] = [];
  /** What before() started, stopped in reverse order (also when before() failed half way). */
  const cleanups: (() => Promise<unknown>)[] = [];

  before(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'agent-rollout-'));
    cleanups.push(() =>
      process.env.KEEP_SCRATCH ? Promise.resolve() : rm(work, { recursive: true, force: true }),
    );
    good = await buildRelease(path.join(work, 'release'), 'x64');
    h = await startHarness('agent-rollout');
    cleanups.push(() => h.close());
    server = createServer((req, res) => {
      const file = path.join(work, 'www', path.basename(req.url ?? ''));
      const stream = createReadStream(file);
      stream.on('error', () => res.writeHead(404).end());
      stream.pipe(res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    cleanups.push(() => Promise.all(agents.map((a) => a.stop())));
    const address = server.address();
    baseUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    await h.moduleConfigMap('temp-alert-wasm', await readFile(await ensureBuilt('temp-alert')));
    for (const short of DEVICES) {
      const node = h.nodeName(short);
      const dir = path.join(work, node);
      await mkdir(path.join(dir, 'release'), { recursive: true });
      await run('tar', ['-xzf', good.tarball, '-C', path.join(dir, 'release'), '--strip-components=1']);
      await h.apply(
        `apiVersion: wasmfleet.io/v1alpha1\nkind: EdgeNode\nmetadata: { name: ${node}, labels: { wasmfleet.io/fleet: ${h.fleet}, site: lab } }\nspec: {}\n`,
      );
      agents.push(
        spawnManaged(`supervised agent ${node}`, path.join(dir, 'release/bin/wasmfleet-agent-supervise'), {
          args: [],
          env: {
            ...process.env,
            WASMFLEET_STATE_DIR: path.join(dir, 'state'),
            WASMFLEET_NODE: node,
            WASMFLEET_BROKER: h.broker.url,
            WASMFLEET_DATA_DIR: path.join(dir, 'state/agent'),
            WASMFLEET_HEARTBEAT: '1',
            WASMFLEET_SENSORS: 'temperature',
          },
          logFile: path.join(dir, 'agent.log'),
        }),
      );
    }
    await h.apply(
      functionYaml('temp-alert', {
        module: { configMap: { name: 'temp-alert-wasm', key: 'module.wasm' } },
        placement: { nodeSelector: { matchLabels: { site: 'lab' } }, sensors: ['temperature'] },
        inputs: [{ topic: 'sensors/{node}/temperature', qos: 1, format: 'senml' }],
        outputs: [{ topic: 'alerts/{node}/temperature', qos: 1 }],
        config: { THRESHOLD: '30', HYSTERESIS: '1', SENSOR: 'temperature' },
        limits: { memory: '1Mi', timeout: '50ms' },
      }),
    );
    await h.waitForFunction('temp-alert', 'Ready 5/5', (f) => f.status?.ready === '5/5', 120_000);
  });
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('rolls the broken build back after its first step and leaves every device on the old version, running', async () => {
    for (const short of DEVICES) {
      const node = await h.node(h.nodeName(short));
      assert.equal(node.status?.agentVersion, good.manifest.version);
      assert.equal(node.status.agentUpgrade?.supported, true, `${short} does not say it can upgrade`);
    }
    const second = await buildRelease(path.join(work, 'release-2'), 'x64', { version: BROKEN, deb: false });
    const broken = await breakRelease(second, work, BROKEN);
    name = `${h.fleet}-agents`;
    await h.apply(
      JSON.stringify({
        apiVersion: 'wasmfleet.io/v1alpha1',
        kind: 'AgentRollout',
        metadata: { name },
        spec: {
          version: BROKEN,
          artifacts: [
            {
              arch: 'x64',
              url: `${baseUrl}/${path.basename(broken.file)}`,
              sha256: broken.sha256,
              signature: { keyId: good.manifest.keyId, ed25519: broken.signature },
            },
          ],
          nodeSelector: { matchLabels: { 'wasmfleet.io/fleet': h.fleet } },
          healthDeadlineSeconds: 15,
          rollout: {
            strategy: 'Canary',
            steps: [{ percent: 20, pause: '5s' }, { percent: 60 }],
            progressDeadlineSeconds: 300,
          },
        },
      }),
    );
    const read = async (): Promise<AgentRollout> =>
      (await h.api.getClusterCustomObject({
        group: GROUP,
        version: VERSION,
        plural: AGENT_ROLLOUT_PLURAL,
        name,
      })) as AgentRollout;
    const rolledBack = await waitFor(
      'the agent rollout to roll back',
      async () => {
        const r = await read();
        return r.status?.rollout?.phase === 'RolledBack' ? r : undefined;
      },
      { timeoutMs: 5 * 60_000, intervalMs: 500 },
    );
    assert.equal(rolledBack.status?.currentVersion, good.manifest.version);
    assert.equal(rolledBack.status.rollout?.failedRevision, BROKEN);
    const tried: string[] = [];
    const seen: string[] = [];
    for (const short of DEVICES) {
      const node = h.nodeName(short);
      const status = await waitFor(
        `${short} back online on ${good.manifest.version} with its function Running`,
        async () => {
          const s = (await h.node(node)).status;
          // Per-function phases stay in the device's retained status (ADR 0023); the EdgeNode
          // lists the failing ones, and the WasmFunction's ready count is checked below.
          return s?.phase === 'Online' &&
            s.agentVersion === good.manifest.version &&
            (s.failingCount ?? 0) === 0
            ? s
            : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 500 },
      );
      seen.push(`${short}: ${JSON.stringify(status.agentUpgrade)}`);
      if (status.agentUpgrade?.phase === 'RolledBack') {
        assert.equal(status.agentUpgrade.version, BROKEN);
        // It ran, but never came online: the supervisor's deadline ended its trial.
        assert.equal(status.agentUpgrade.reason, 'NotHealthy');
        tried.push(short);
      }
    }
    await h.waitForFunction(
      'temp-alert',
      'Ready 5/5 after the rollback',
      (f) => f.status?.ready === '5/5',
      60_000,
    );
    // What `wasmfleet rollout status` says about it, and its exit code.
    const cli = await run(
      process.execPath,
      [CLI_BIN, 'rollout', 'status', `agentrollout/${name}`, '--kubeconfig', h.plane.kubeconfigPath],
      {
        env: { ...process.env, NO_COLOR: '1' },
      },
    ).then(
      (r) => ({ code: 0, ...r }),
      (e: unknown) => e as { code: number; stdout: string; stderr: string },
    );
    assert.equal(cli.code, 1);
    assert.match(
      cli.stdout,
      new RegExp(
        `agentrollout/${name}: RolledBack, ${good.manifest.version} → ${BROKEN}: 0/5 devices updated`,
      ),
    );
    assert.equal(tried.length, 1, `exactly the first step's device tried ${BROKEN}:\n${seen.join('\n')}`);
  });

  it('then rolls a healthy build out to every device, which keeps it as its current version', async () => {
    const third = await buildRelease(path.join(work, 'release-3'), 'x64', { version: FIXED, deb: false });
    await mkdir(path.join(work, 'www'), { recursive: true });
    await run('cp', [third.tarball, path.join(work, 'www')]);
    await h.apply(
      JSON.stringify({
        apiVersion: 'wasmfleet.io/v1alpha1',
        kind: 'AgentRollout',
        metadata: { name },
        spec: {
          version: FIXED,
          artifacts: [
            {
              arch: 'x64',
              url: `${baseUrl}/${third.manifest.tarball.file}`,
              sha256: third.manifest.tarball.sha256,
              signature: { keyId: third.manifest.keyId, ed25519: third.manifest.tarball.signature },
            },
          ],
          nodeSelector: { matchLabels: { 'wasmfleet.io/fleet': h.fleet } },
          healthDeadlineSeconds: 120,
          rollout: { strategy: 'Rolling', maxUnavailable: 2, progressDeadlineSeconds: 600 },
        },
      }),
    );
    const done = await waitFor(
      'the agent rollout to complete',
      async () => {
        const r = (await h.api.getClusterCustomObject({
          group: GROUP,
          version: VERSION,
          plural: AGENT_ROLLOUT_PLURAL,
          name,
        })) as AgentRollout;
        const status = r.status;
        if (!status || status.observedGeneration !== r.metadata.generation) return undefined;
        if (status.rollout?.phase === 'RolledBack') {
          const devices = await Promise.all(
            DEVICES.map(async (d) => {
              const n = (await h.node(h.nodeName(d))).status;
              return `${d}: ${n?.phase} ${n?.agentVersion} ${JSON.stringify(n?.agentUpgrade)} ${n?.failingCount ?? 0} failing`;
            }),
          );
          assert.fail(`the healthy build was rolled back: ${JSON.stringify(status)}\n${devices.join('\n')}`);
        }
        return status.rollout?.phase === 'Complete' ? r : undefined;
      },
      { timeoutMs: 10 * 60_000, intervalMs: 1000 },
    );
    assert.equal(done.status?.currentVersion, FIXED);
    for (const short of DEVICES) {
      const s = (await h.node(h.nodeName(short))).status;
      assert.equal(s?.agentVersion, FIXED, `${short} runs ${s?.agentVersion}`);
      assert.equal(s.phase, 'Online');
      assert.equal(s.failingCount ?? 0, 0, `${short} runs its function`);
      // Installed beside the packaged release and made current by the supervisor, not just started.
      // The agent reports itself healthy before the supervisor (polling each second) commits it.
      const current = await waitFor(`${short}'s supervisor to make ${FIXED} current`, () =>
        readFile(path.join(work, h.nodeName(short), 'state/versions/current'), 'utf8').catch(() => undefined),
      );
      assert.match(current, new RegExp(`/${FIXED.replaceAll('.', '\\.')}-[0-9a-f]{12}\n?$`));
    }
    await h.waitForFunction(
      'temp-alert',
      'Ready 5/5 on the new agent',
      (f) => f.status?.ready === '5/5',
      60_000,
    );
    const cli = await run(process.execPath, [
      CLI_BIN,
      'rollout',
      'status',
      `agentrollout/${name}`,
      '--kubeconfig',
      h.plane.kubeconfigPath,
    ]);
    assert.match(cli.stdout, new RegExp(`agentrollout/${name}: Complete, .*5/5 devices updated`));
  });
});
