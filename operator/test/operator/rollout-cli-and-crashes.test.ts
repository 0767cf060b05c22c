// SPDX-License-Identifier: Apache-2.0
// Rollouts driven the way users drive them — `wasmfleet rollout …` — and an operator SIGKILLed
// at several points of a rollout, against the real API server, Mosquitto and the real binaries.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { cli } from '../../../cli/test/helpers.ts';
import { canonicalJson } from '../../src/fleet/revision-hash.ts';
import { functionYaml, startHarness, type Harness } from './harness.ts';
import { spawnOperator, type OperatorProcess } from './operator-process.ts';

const spec = (v: string, rollout: Record<string, unknown>) => ({
  module: { configMap: { name: 'mod', key: 'module.wasm' } },
  placement: { nodeSelector: { matchLabels: { ring: 'all' } } },
  inputs: [{ topic: 'in/{node}' }],
  config: { V: v },
  rollout,
});

/** The revisions of `name` a device was told to run, in order, without repeats. */
function transitions(
  received: readonly { functions: readonly { name: string; revision: string }[] }[],
  name: string,
): string[] {
  const out: string[] = [];
  for (const doc of received) {
    const r = doc.functions.find((f) => f.name === name)?.revision;
    if (r !== undefined && out.at(-1) !== r) out.push(r);
  }
  return out;
}

describe('rollout controls through the CLI', () => {
  let h: Harness;
  const run = (...args: string[]) => cli(['rollout', ...args, '-n', h.namespace], h.plane.kubeconfigPath);
  before(async () => {
    h = await startHarness('op-rcli');
    await h.moduleConfigMap('mod');
    for (let i = 0; i < 10; i++) await h.device(`d${i}`, { labels: { ring: 'all' } });
  });
  after(() => h.close());

  it('pause, resume at a manual gate, promote, status --watch, undo and history', async () => {
    const gated = {
      strategy: 'Canary',
      steps: [
        { percent: 20, gate: 'Manual' },
        { percent: 50, gate: 'Manual' },
      ],
    };
    await h.apply(functionYaml('app', spec('1', gated)));
    const v1 =
      (await h.waitForFunction('app', 'v1', (f) => f.status?.ready === '10/10')).status?.currentRevision ??
      '';
    await h.apply(functionYaml('app', spec('2', gated)));
    const atGate = await h.waitForFunction(
      'app',
      'step 0 gate',
      (f) => f.status?.rollout?.waitingForGate === true && f.status.rollout.step === 0,
    );
    const v2 = atGate.status?.updateRevision ?? '';
    assert.equal(h.devices.filter((d) => d.desired()?.functions[0]?.revision === v2).length, 2);

    const status = await run('status', 'app');
    assert.equal(status.exitCode, 0, status.stderr);
    assert.match(status.stdout + status.stderr, /resume/i);

    assert.equal((await run('pause', 'app')).exitCode, 0);
    await h.waitForFunction('app', 'Paused', (f) => f.status?.phase === 'Paused');
    assert.equal((await run('resume', 'app')).exitCode, 0); // unpause
    await h.waitForFunction('app', 'not paused', (f) => f.status?.phase !== 'Paused');
    assert.equal((await run('resume', 'app')).exitCode, 0); // pass the gate
    await h.waitForFunction(
      'app',
      'step 1 gate',
      (f) => f.status?.rollout?.step === 1 && f.status.rollout.waitingForGate === true,
    );
    assert.equal(h.devices.filter((d) => d.desired()?.functions[0]?.revision === v2).length, 5);

    assert.equal((await run('promote', 'app')).exitCode, 0);
    const watched = await run('status', 'app', '--watch', '--timeout', '60s');
    assert.equal(watched.exitCode, 0, watched.stdout + watched.stderr);
    assert.ok(h.devices.every((d) => d.desired()?.functions[0]?.revision === v2));

    const history = await run('history', 'app');
    assert.equal(history.exitCode, 0, history.stderr);
    assert.ok(history.stdout.includes(v1) && history.stdout.includes(v2), history.stdout);

    assert.equal((await run('undo', 'app')).exitCode, 0);
    await h.waitForFunction(
      'app',
      'back on v1 (by promoting past the gates)',
      (f) => f.status?.updateRevision === v1 && f.status.rollout?.waitingForGate === true,
    );
    assert.equal((await run('promote', 'app')).exitCode, 0);
    await h.waitForFunction(
      'app',
      'v1 everywhere',
      (f) => f.status?.currentRevision === v1 && f.status.readyNodes === 10,
    );
  });

  it('rollout status exits non-zero when the rollout fails, so CI can gate on it', async () => {
    const outcome = (fn: { config: Readonly<Record<string, string>> }) =>
      fn.config.V === 'bad' ? 'Failed' : 'Running';
    for (let i = 0; i < 3; i++) await h.device(`f${i}`, { labels: { ring: 'fail' }, outcome });
    const failing = (v: string) => ({
      ...spec(v, { strategy: 'Canary', steps: [{ percent: 34 }] }),
      placement: { nodeSelector: { matchLabels: { ring: 'fail' } } },
    });
    await h.apply(functionYaml('flaky', failing('1')));
    await h.waitForFunction('flaky', 'v1', (f) => f.status?.ready === '3/3');
    await h.apply(functionYaml('flaky', failing('bad')));
    const watched = await run('status', 'flaky', '--watch', '--timeout', '60s');
    assert.notEqual(watched.exitCode, 0);
    assert.match(watched.stderr + watched.stdout, /roll(ed)? back|RolledBack|failed/i);
  });
});

describe('an operator SIGKILLed at several points of a rollout', () => {
  let h: Harness;
  const operators: OperatorProcess[] = [];
  before(async () => {
    // The in-process operator steps aside; real operator processes do the work and get killed.
    h = await startHarness('op-rkill');
    await h.operator.stop();
    await h.moduleConfigMap('mod');
    for (let i = 0; i < 10; i++) await h.device(`d${i}`, { labels: { ring: 'all' } });
  });
  after(async () => {
    await Promise.all(operators.map((o) => o.kill()));
    await h.close();
  });
  const start = () => {
    const o = spawnOperator(
      ['--broker', h.broker.url, '--namespace', h.namespace, '--fleet', h.fleet],
      h.plane.kubeconfigPath,
    );
    operators.push(o);
    return o;
  };

  it('converges to the spec, every device moves to the new revision exactly once, no document is published twice', async () => {
    const canary = {
      strategy: 'Canary',
      steps: [
        { percent: 20, pause: '2s' },
        { percent: 50, pause: '2s' },
      ],
    };
    let op = start();
    await h.apply(functionYaml('k', spec('1', canary)));
    await h.waitForFunction('k', 'v1', (f) => f.status?.ready === '10/10', 30_000);
    await h.apply(functionYaml('k', spec('2', canary)));
    for (const [what, check] of [
      [
        'step 0 in flight',
        (f: { status?: { rollout?: { step?: number; revision?: string }; updateRevision?: string } }) =>
          f.status?.rollout?.step === 0 && f.status.rollout.revision === f.status.updateRevision,
      ],
      [
        'step 1 in flight',
        (f: { status?: { rollout?: { step?: number } } }) => f.status?.rollout?.step === 1,
      ],
      [
        'the last step in flight',
        (f: { status?: { rollout?: { step?: number } } }) => f.status?.rollout?.step === 2,
      ],
    ] as const) {
      await h.waitForFunction('k', what, check, 30_000);
      await op.kill('SIGKILL');
      op = start();
    }
    const done = await h.waitForFunction(
      'k',
      'v2 everywhere',
      (f) => f.status?.currentRevision === f.status?.updateRevision && f.status?.readyNodes === 10,
      60_000,
    );
    const v2 = done.status?.updateRevision ?? '';
    for (const d of h.devices) {
      const seq = transitions(d.received, 'k');
      assert.equal(seq.at(-1), v2, `${d.node} ends on ${seq.at(-1) ?? 'nothing'}`);
      assert.equal(seq.length, 2, `${d.node} went ${seq.join(' → ')}: a step ran twice or went backwards`);
      const contents = d.received.map((doc) => canonicalJson(doc.functions));
      for (let i = 1; i < contents.length; i++)
        assert.notEqual(contents[i], contents[i - 1], `${d.node} received the same document twice`);
    }
  });
});
