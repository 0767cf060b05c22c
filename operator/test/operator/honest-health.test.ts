// SPDX-License-Identifier: Apache-2.0
// Honest health along the user's path (issue 15): a real API server, the real operator, real
// agents running wasm and a real Mosquitto; readings arrive now and then, as from a real sensor;
// what is asserted is what `kubectl get` and `wasmfleet describe` show.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { parseNodeStatus, type FunctionStatusReport, type WasmFunction } from '@wasmfleet/api';
import { waitFor } from '@wasmfleet/test-support';
import { hostile, watToWasm } from '../../../agent/test/helpers/wasm.ts';
import { cli } from '../../../cli/test/helpers.ts';
import { statusContradictions } from '../fleet/status-contradictions.ts';
import { functionYaml, startHarness, type Harness } from './harness.ts';
import { startRealAgents, type RealAgents } from './real-agent-fleet.ts';

const fixture = async (name: string) =>
  watToWasm(await readFile(new URL(`fixtures/${name}.wat`, import.meta.url), 'utf8'));

describe('honest health: what kubectl and wasmfleet show about failing functions', () => {
  let h: Harness;
  let client: MqttClient;
  let agents: RealAgents;
  /** node → its latest retained status, as the agent published it. */
  const reports = new Map<string, readonly FunctionStatusReport[]>();
  const node = (short: string) => h.nodeName(short);

  before(async () => {
    h = await startHarness('honest-health');
    await h.moduleConfigMap('trap', await hostile('trap'));
    await h.moduleConfigMap('missing-import', await hostile('missing-import'));
    await h.moduleConfigMap('error-every-call', await fixture('error-every-call'));
    await h.moduleConfigMap('trap-on-x', await fixture('trap-on-x'));
    client = await mqtt.connectAsync(h.broker.url, { protocolVersion: 5 });
    client.on('message', (_topic, payload) => {
      const parsed = parseNodeStatus(payload);
      if (parsed.ok) reports.set(parsed.value.node, parsed.value.functions ?? []);
    });
    await client.subscribeAsync('wasmfleet/v1/nodes/+/status', { qos: 1 });
    agents = await startRealAgents(h, ['a', 'b', 'c', 'd'], (short) => ({
      dev: short,
      site: short === 'd' ? 'spare' : 'lab',
      pair: short === 'a' || short === 'd' ? 'ad' : 'bc',
    }));
  });
  after(async () => {
    await agents.stop();
    await client.endAsync();
    await h.close();
  });

  const deploy = (name: string, module: string, labels: Record<string, string>, rollout = {}) =>
    h.apply(
      functionYaml(name, {
        module: { configMap: { name: module, key: 'module.wasm' } },
        placement: { nodeSelector: { matchLabels: labels } },
        inputs: [{ topic: `readings/{node}/${name}`, qos: 1, format: 'raw' }],
        limits: { memory: '1Mi', timeout: '50ms' },
        rollout: { progressDeadlineSeconds: 60, ...rollout },
      }),
    );
  const send = (short: string, name: string, reading: string) =>
    client.publishAsync(`readings/${node(short)}/${name}`, reading, { qos: 1 });
  const feed = (shorts: readonly string[], name: string, reading: () => string, everyMs = 100) => {
    const timer = setInterval(() => {
      for (const s of shorts) client.publish(`readings/${node(s)}/${name}`, reading(), { qos: 1 });
    }, everyMs);
    return () => clearInterval(timer);
  };
  const reported = (short: string, name: string) => reports.get(node(short))?.find((f) => f.name === name);
  const untilReported = (
    short: string,
    name: string,
    what: string,
    ok: (f: FunctionStatusReport) => boolean,
  ) =>
    waitFor(`${node(short)} to report ${name} ${what}`, () => {
      const f = reported(short, name);
      return f && ok(f) ? f : undefined;
    });
  const kubectl = async (args: readonly string[]) => {
    const r = await h.plane.kubectl([...args]);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  /** The PHASE column of `kubectl get wasmfunction <name>`. */
  const getPhase = async (name: string) => {
    const [header = '', row = ''] = (await kubectl(['get', 'wasmfunction', name, '-n', h.namespace])).split(
      '\n',
    );
    return row.split(/\s+/)[header.split(/\s+/).indexOf('PHASE')];
  };
  const condition = async (name: string, type: string) =>
    kubectl([
      'get',
      'wasmfunction',
      name,
      '-n',
      h.namespace,
      '-o',
      `jsonpath={.status.conditions[?(@.type=="${type}")].status} {.status.conditions[?(@.type=="${type}")].reason} {.status.conditions[?(@.type=="${type}")].message}`,
    ]);
  const describeFn = async (name: string) => {
    const r = await cli(['describe', 'function', name, '-n', h.namespace], h.plane.kubeconfigPath);
    assert.equal(r.exitCode, 0, r.stderr);
    return r.stdout;
  };
  const consistent = async (name: string): Promise<WasmFunction> => {
    const fn = await h.fn(name);
    assert.deepEqual(statusContradictions(fn.status), [], JSON.stringify(fn.status, null, 2));
    return fn;
  };

  it('a function trapping on every one of 7 sporadic readings reads Degraded (regression: Ready 1/1, "no device reports a failure")', async () => {
    await deploy('sporadic-trap', 'trap', { dev: 'a' });
    await h.waitForFunction('sporadic-trap', 'Ready 1/1', (f) => f.status?.ready === '1/1', 30_000);
    for (let i = 0; i < 7; i++) {
      // One reading at a time, each reaching a Running instance: after the fifth the agent backs
      // off, restarts the function, and the next reading comes once it runs again.
      await untilReported(
        'a',
        'sporadic-trap',
        `Running after ${i} calls`,
        (f) => f.phase === 'Running' && f.invocations === i,
      );
      await send('a', 'sporadic-trap', `reading ${i}`);
    }
    const last = await untilReported(
      'a',
      'sporadic-trap',
      'Running with 7 calls',
      (f) => f.phase === 'Running' && f.invocations === 7,
    );
    assert.equal(last.errors, 7);
    // The operator has seen the report of this Running stretch (the row's time is its `since`).
    await h.waitForFunction(
      'sporadic-trap',
      'the current report seen',
      (f) =>
        f.status?.nodes?.some((n) => n.phase === 'Running' && n.lastTransitionTime === last.since) === true,
    );
    // Calls 6 and 7 fall in one Running stretch (same `since`), and reports wake a reconcile at
    // most every few hundred ms (ADR 0045): wait for the count of the last report, as a user would.
    let seen = '';
    await waitFor(
      'Degraded counting all 7 failed calls',
      async () => {
        seen = await condition('sporadic-trap', 'Degraded');
        return /^True CallsFailing .*7 of the last 7 calls failed/.test(seen) ? true : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 200 },
    ).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}; last seen: ${seen}`, { cause: error });
    });
    assert.equal(await getPhase('sporadic-trap'), 'Degraded');
    assert.match(await describeFn('sporadic-trap'), /Phase:\s+Degraded/);
    await consistent('sporadic-trap');
  });

  it('a function answering every call with an error reads Degraded (regression: Degraded=False at 10/10 failed calls)', async () => {
    await deploy('always-errors', 'error-every-call', { dev: 'b' });
    await h.waitForFunction('always-errors', 'Ready 1/1', (f) => f.status?.ready === '1/1', 30_000);
    for (let i = 0; i < 10; i++) {
      await send('b', 'always-errors', `reading ${i}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const last = await untilReported('b', 'always-errors', '10 calls', (f) => f.invocations === 10);
    assert.equal([last.phase, last.errors].join(' '), 'Running 10');
    await waitFor(
      'kubectl get to show Degraded',
      async () => ((await getPhase('always-errors')) === 'Degraded' ? true : undefined),
      {
        timeoutMs: 15_000,
      },
    );
    assert.match(
      await condition('always-errors', 'Degraded'),
      /^True CallsFailing calls failing on 1 device; .*: \d+ of the last \d+ calls failed; last: GuestError: sensor reading out of range/,
    );
    const ready = await condition('always-errors', 'Ready');
    assert.match(ready, /^False CallsFailing /);
    const text = await describeFn('always-errors');
    assert.match(text, /Phase:\s+Degraded/);
    assert.match(text, new RegExp(`${node('b')}\\s+\\S+\\s+Running\\s+CallsFailing`));
    await consistent('always-errors');
  });

  it('a crash-looping function shows CrashLoopBackOff on its EdgeNode and WasmFunction; Failed still means it can never run', async () => {
    const stop = feed(['c'], 'crash-loop', () => 'steady reading');
    try {
      await deploy('crash-loop', 'trap', { dev: 'c' });
      await deploy('never-runs', 'missing-import', { dev: 'c' });
      // The EdgeNode keeps a summary: its failing functions, each with its phase and reason.
      const phaseOn = (name: string) =>
        kubectl([
          'get',
          'edgenode',
          node('c'),
          '-o',
          `jsonpath={.status.failing[?(@.name=="${name}")].phase}`,
        ]);
      await waitFor('the EdgeNode to list crash-loop as CrashLoopBackOff', async () =>
        (await phaseOn('crash-loop')) === 'CrashLoopBackOff' ? true : undefined,
      );
      await waitFor('the EdgeNode to list never-runs as Failed', async () =>
        (await phaseOn('never-runs')) === 'Failed' ? true : undefined,
      );
      const row = await h.waitForFunction(
        'crash-loop',
        'its device row CrashLoopBackOff',
        (f) => f.status?.nodes?.[0]?.phase === 'CrashLoopBackOff',
      );
      assert.equal(row.status?.phase, 'Degraded');
      const never = await h.waitForFunction(
        'never-runs',
        'Failed on its device',
        (f) => f.status?.nodes?.[0]?.phase === 'Failed',
      );
      assert.match(never.status?.nodes?.[0]?.message ?? '', /wasmfleet_v1|import/i);
      // Every function's detail comes from the device's own retained status on the broker.
      const described = await waitFor('describe node to show crash-loop in CrashLoopBackOff', async () => {
        const args = ['describe', 'node', node('c'), '--broker', h.broker.url];
        const r = await cli(args, h.plane.kubeconfigPath);
        assert.equal(r.exitCode, 0, r.stderr);
        return /crash-loop\s+\S+\s+CrashLoopBackOff\s+Trap/.test(r.stdout) ? r.stdout : undefined;
      });
      assert.match(described, /never-runs\s+\S+\s+Failed\s+MissingImport/);
      await consistent('crash-loop');
      await consistent('never-runs');
    } finally {
      stop();
    }
  });

  it('after a rollback no condition contradicts itself (regression: Ready False InstancesFailed "3/3 devices ready")', async () => {
    const stop = feed(['a', 'b', 'c'], 'rollback', () => 'good reading');
    try {
      const canary = { strategy: 'Canary', steps: [{ percent: 33, pause: '3s' }], maxErrorRate: 0.05 };
      await deploy('rollback', 'trap-on-x', { site: 'lab' }, canary);
      const stable = await h.waitForFunction(
        'rollback',
        'Ready 3/3',
        (f) => f.status?.phase === 'Ready',
        30_000,
      );
      await deploy('rollback', 'trap', { site: 'lab' }, canary);
      await h.waitForFunction(
        'rollback',
        'rolled back',
        (f) => f.status?.rollout?.phase === 'RolledBack',
        45_000,
      );
      const back = await h.waitForFunction(
        'rollback',
        'every device on the stable revision again',
        (f) =>
          f.status?.nodes?.length === 3 &&
          f.status.nodes.every((n) => n.phase === 'Running' && n.revision === stable.status?.currentRevision),
      );
      const fn = await consistent('rollback');
      assert.equal(back.status?.currentRevision, stable.status?.currentRevision);
      assert.equal(fn.status?.phase, 'Degraded');
      assert.match(
        await condition('rollback', 'Ready'),
        /^False RolledBack 3\/3 devices run the previous revision/,
      );
      assert.match(await condition('rollback', 'Degraded'), /^True RolledBack rolled back to /);
    } finally {
      stop();
    }
  });

  it('a first deployment that fails says Degraded and never RolledBack (there is nothing to roll back to)', async () => {
    await deploy('first-fails', 'missing-import', { dev: 'b' });
    await h.waitForFunction(
      'first-fails',
      'rollout Degraded',
      (f) => f.status?.rollout?.phase === 'Degraded',
      30_000,
    );
    const fn = await consistent('first-fails');
    assert.equal(fn.status?.currentRevision, undefined);
    assert.equal(await getPhase('first-fails'), 'Degraded');
    assert.doesNotMatch(await condition('first-fails', 'Degraded'), /RolledBack/);
    assert.match(await condition('first-fails', 'Progressing'), /^False DeploymentFailed degraded: /);
    assert.doesNotMatch(await describeFn('first-fails'), /RolledBack/);
  });

  it('a first deployment that fails and then recovers completes without a failedRevision (regression: failedRevision = currentRevision)', async () => {
    // Device d is away, so the first deployment cannot finish before a's failure is seen.
    await agents.stopOne(node('d'));
    await waitFor(`${node('d')} Offline`, async () =>
      (await h.node(node('d'))).status?.phase === 'Offline' ? true : undefined,
    );
    let stop = feed(['a'], 'recovers', () => 'x marks a bad reading');
    try {
      await deploy('recovers', 'trap-on-x', { pair: 'ad' });
      await h.waitForFunction(
        'recovers',
        'rollout Degraded',
        (f) => f.status?.rollout?.phase === 'Degraded',
        30_000,
      );
      stop();
      await untilReported('a', 'recovers', 'Running again', (f) => f.phase === 'Running');
      stop = feed(['a'], 'recovers', () => 'good reading', 50);
      await untilReported('a', 'recovers', '25 good calls', (f) => f.invocations - f.errors >= 25);
      agents.startOne(node('d'));
      const done = await h.waitForFunction(
        'recovers',
        'rollout Complete',
        (f) => f.status?.rollout?.phase === 'Complete',
        45_000,
      );
      assert.equal(done.status?.currentRevision, done.status?.updateRevision);
      assert.equal(done.status?.rollout?.failedRevision, undefined);
      await consistent('recovers');
      assert.equal(await getPhase('recovers'), 'Ready');
    } finally {
      stop();
    }
  });
});
