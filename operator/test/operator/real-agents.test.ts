// SPDX-License-Identifier: Apache-2.0
// The operator with REAL agents (child processes running wasm) and a real Mosquitto: outputs
// flow end to end, and a canary whose module traps on every message is rolled back before the
// next step, having reached only the first step's device.
import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { parseDesiredState } from '@wasmfleet/api';
import { spawnManaged, waitFor, type ManagedProcess } from '@wasmfleet/test-support';
import { ensureBuilt } from '@wasmfleet/workloads';
import { watToWasm } from '../../../agent/test/helpers/wasm.ts';
import { functionYaml, startHarness, type Harness } from './harness.ts';

const AGENT_BIN = fileURLToPath(new URL('../../../agent/bin/wasmfleet-agent.js', import.meta.url));
const TRAP_WAT = fileURLToPath(
  new URL('../../../agent/test/fixtures/hostile/trap/module.wat', import.meta.url),
);
const senml = (v: number) => JSON.stringify([{ bn: 'urn:dev:', n: 'temperature', u: 'Cel', v }]);

describe('operator + real agents', () => {
  let h: Harness;
  let client: MqttClient;
  const agents: ManagedProcess[] = [];
  /** node → every revision of temp-alert it was ever told to run, and the latest. */
  const told = new Map<string, Set<string>>();
  const latest = new Map<string, string | undefined>();
  const outputs: { topic: string; payload: string }[] = [];

  before(async () => {
    h = await startHarness('op-agents');
    const wasm = await readFile(await ensureBuilt('temp-alert'));
    await h.moduleConfigMap('temp-alert-wasm', wasm);
    await h.moduleConfigMap('trap-wasm', await watToWasm(await readFile(TRAP_WAT, 'utf8')));
    client = await mqtt.connectAsync(h.broker.url, { protocolVersion: 5 });
    client.on('message', (topic, payload) => {
      if (topic.endsWith('/desired')) {
        const doc = parseDesiredState(payload);
        if (!doc.ok) return;
        const set = told.get(doc.value.node) ?? new Set<string>();
        const mine = doc.value.functions.find((f) => f.name === 'temp-alert');
        if (mine) set.add(mine.revision);
        told.set(doc.value.node, set);
        latest.set(doc.value.node, mine?.revision);
      } else outputs.push({ topic, payload: payload.toString() });
    });
    await client.subscribeAsync(['wasmfleet/v1/nodes/+/desired', 'alerts/#'], { qos: 1 });
    const data = await mkdtemp(path.join(tmpdir(), 'real-agents-'));
    for (const short of ['a', 'b', 'c']) {
      const node = h.nodeName(short);
      await h.apply(
        `apiVersion: wasmfleet.io/v1alpha1\nkind: EdgeNode\nmetadata: { name: ${node}, labels: { wasmfleet.io/fleet: ${h.fleet}, site: lab } }\nspec: {}\n`,
      );
      agents.push(
        spawnManaged(`agent ${node}`, process.execPath, {
          args: [
            AGENT_BIN,
            '--broker',
            h.broker.url,
            '--node',
            node,
            '--data-dir',
            path.join(data, node),
            '--heartbeat',
            '1',
            '--sensors',
            'temperature',
          ],
          logFile: path.join(data, `${node}.log`),
        }),
      );
    }
    for (const short of ['a', 'b', 'c']) {
      await waitFor(
        `${short} Online`,
        async () => ((await h.node(h.nodeName(short))).status?.phase === 'Online' ? true : undefined),
        { timeoutMs: 30_000 },
      );
    }
  });
  after(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await client.endAsync();
    await h.close();
  });

  const fn = (module: string, rollout: Record<string, unknown>) =>
    functionYaml('temp-alert', {
      module: { configMap: { name: module, key: 'module.wasm' } },
      placement: { nodeSelector: { matchLabels: { site: 'lab' } }, sensors: ['temperature'] },
      inputs: [{ topic: 'sensors/{node}/temperature', qos: 1, format: 'senml' }],
      outputs: [{ topic: 'alerts/{node}/temperature', qos: 1 }],
      config: { THRESHOLD: '30', HYSTERESIS: '1', SENSOR: 'temperature' },
      limits: { memory: '1Mi', timeout: '50ms' },
      rollout,
    });

  it('apply → the agents run the wasm function → alerts flow for readings over the threshold', async () => {
    await h.apply(
      fn('temp-alert-wasm', {
        strategy: 'Canary',
        steps: [{ percent: 33, pause: '3s' }],
        maxErrorRate: 0.05,
      }),
    );
    await h.waitForFunction('temp-alert', 'Ready 3/3', (f) => f.status?.ready === '3/3', 30_000);
    for (const short of ['a', 'b', 'c'])
      await client.publishAsync(`sensors/${h.nodeName(short)}/temperature`, senml(35), { qos: 1 });
    await waitFor(
      'an alert from every device',
      () => {
        const from = new Set(outputs.map((o) => o.topic));
        return ['a', 'b', 'c'].every((s) => from.has(`alerts/${h.nodeName(s)}/temperature`))
          ? true
          : undefined;
      },
      { timeoutMs: 15_000 },
    );
  });

  it('a canary that traps on every message is rolled back before the next step; only one device ever ran it', async () => {
    const stable = (await h.fn('temp-alert')).status?.currentRevision ?? '';
    const feeding = setInterval(() => {
      for (const short of ['a', 'b', 'c'])
        client.publish(`sensors/${h.nodeName(short)}/temperature`, senml(20 + Math.random()), { qos: 1 });
    }, 100);
    try {
      await h.apply(
        fn('trap-wasm', { strategy: 'Canary', steps: [{ percent: 33, pause: '3s' }], maxErrorRate: 0.05 }),
      );
      const rolled = await h.waitForFunction(
        'temp-alert',
        'rolled back',
        (f) => f.status?.rollout?.phase === 'RolledBack',
        45_000,
      );
      const bad = rolled.status?.updateRevision ?? '';
      await waitFor('every device back on the stable revision', () =>
        ['a', 'b', 'c'].every((s) => latest.get(h.nodeName(s)) === stable) ? true : undefined,
      );
      const ranBad = [...told.values()].filter((revs) => revs.has(bad)).length;
      assert.equal(
        ranBad,
        1,
        `${ranBad} devices were told to run the trapping revision; the first step has 1`,
      );
    } finally {
      clearInterval(feeding);
    }
  });
});
