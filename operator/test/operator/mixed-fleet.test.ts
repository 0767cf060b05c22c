// SPDX-License-Identifier: Apache-2.0
// A mixed fleet: the same WasmFunction on Node agents and native agents (agent-native/, Wasmtime)
// under one operator, a real API server and Mosquitto. Both kinds run it, give identical outputs
// for identical readings, and a canary rollout moves across both kinds to the new revision with
// its health gates green (docs/adr/0021).
import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { ensureNativeAgent, spawnManaged, waitFor, type ManagedProcess } from '@wasmfleet/test-support';
import { ensureBuilt } from '@wasmfleet/workloads';
import { functionYaml, startHarness, type Harness } from './harness.ts';

const AGENT_BIN = fileURLToPath(new URL('../../../agent/bin/wasmfleet-agent.js', import.meta.url));
const DEVICES = [
  { short: 'node-a', native: false },
  { short: 'node-b', native: false },
  { short: 'native-a', native: true },
  { short: 'native-b', native: true },
] as const;
const READINGS = [21.5, 30.5, 35, 29.9, 31, 28, 40.25, 12];
const senml = (v: number) => JSON.stringify([{ bn: 'urn:dev:', n: 'temperature', u: 'Cel', v }]);

describe('a mixed fleet of Node and native agents', () => {
  let h: Harness;
  let client: MqttClient;
  const agents: ManagedProcess[] = [];
  /** Outputs by device short name, in arrival order. */
  const outputs = new Map<string, string[]>();

  before(async () => {
    const native = (await ensureNativeAgent({ progress: (l) => console.error(`[native agent] ${l}`) })).path;
    h = await startHarness('mixed');
    await h.moduleConfigMap('temp-alert-wasm', await readFile(await ensureBuilt('temp-alert')));
    client = await mqtt.connectAsync(h.broker.url, { protocolVersion: 5 });
    client.on('message', (topic, payload) => {
      const device = DEVICES.find((d) => topic === `alerts/${h.nodeName(d.short)}/temperature`);
      if (device) outputs.set(device.short, [...(outputs.get(device.short) ?? []), payload.toString()]);
    });
    await client.subscribeAsync('alerts/#', { qos: 1 });
    const data = await mkdtemp(path.join(tmpdir(), 'mixed-fleet-'));
    for (const d of DEVICES) {
      const node = h.nodeName(d.short);
      await h.apply(
        `apiVersion: wasmfleet.io/v1alpha1\nkind: EdgeNode\nmetadata: { name: ${node}, labels: { wasmfleet.io/fleet: ${h.fleet}, site: mixed } }\nspec: {}\n`,
      );
      const args = [
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
      ];
      agents.push(
        d.native
          ? spawnManaged(`native agent ${node}`, native, { args, logFile: path.join(data, `${node}.log`) })
          : spawnManaged(`agent ${node}`, process.execPath, {
              args: [AGENT_BIN, ...args],
              logFile: path.join(data, `${node}.log`),
            }),
      );
    }
    for (const d of DEVICES)
      await waitFor(
        `${d.short} Online`,
        async () => ((await h.node(h.nodeName(d.short))).status?.phase === 'Online' ? true : undefined),
        { timeoutMs: 30_000 },
      );
  });
  after(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await client.endAsync();
    await h.close();
  });

  const fn = (threshold: string, rollout: Record<string, unknown>) =>
    functionYaml('temp-alert', {
      module: { configMap: { name: 'temp-alert-wasm', key: 'module.wasm' } },
      placement: { nodeSelector: { matchLabels: { site: 'mixed' } }, sensors: ['temperature'] },
      inputs: [{ topic: 'sensors/{node}/temperature', qos: 1, format: 'senml' }],
      outputs: [{ topic: 'alerts/{node}/temperature', qos: 1 }],
      config: { THRESHOLD: threshold, HYSTERESIS: '1', SENSOR: 'temperature' },
      limits: { memory: '1Mi', timeout: '50ms' },
      rollout,
    });

  /** Sends the same readings to every device and waits until each has answered `count` times in all. */
  async function feed(count: number): Promise<void> {
    for (const v of READINGS)
      for (const d of DEVICES)
        await client.publishAsync(`sensors/${h.nodeName(d.short)}/temperature`, senml(v), { qos: 1 });
    await waitFor(
      `${count} outputs from every device`,
      () => (DEVICES.every((d) => (outputs.get(d.short)?.length ?? 0) >= count) ? true : undefined),
      { timeoutMs: 20_000 },
    );
  }

  function assertIdentical(): void {
    const reference = outputs.get('node-a') ?? [];
    assert.ok(reference.length > 0, 'the Node agent produced outputs');
    for (const d of DEVICES)
      assert.deepEqual(
        (outputs.get(d.short) ?? []).map((o) => o.replaceAll(h.nodeName(d.short), '<node>')),
        reference.map((o) => o.replaceAll(h.nodeName('node-a'), '<node>')),
        `${d.short} answered the same readings with the same outputs as node-a`,
      );
  }

  it('runs on both kinds of device with identical outputs for identical readings', async () => {
    await h.apply(fn('30', { strategy: 'Rolling' }));
    await h.waitForFunction('temp-alert', 'Ready 4/4', (f) => f.status?.ready === '4/4', 60_000);
    const before = outputs.get('node-a')?.length ?? 0;
    await feed(before + 1);
    await new Promise((r) => setTimeout(r, 1000)); // every device's last alert is in
    assertIdentical();
    for (const d of DEVICES.filter((x) => x.native)) {
      const node = await h.node(h.nodeName(d.short));
      assert.match(node.status?.agentVersion ?? '', /\+native$/, `${d.short} reports the native agent`);
    }
  });

  it('a canary rollout moves across Node and native devices to the new revision, outputs still identical', async () => {
    outputs.clear();
    await h.apply(
      fn('25', { strategy: 'Canary', steps: [{ percent: 50, pause: '2s' }], maxErrorRate: 0.05 }),
    );
    const done = await h.waitForFunction(
      'temp-alert',
      'rollout complete on 4/4',
      // The status of the new generation: the first test's status also reads Complete, 4/4.
      (f) =>
        f.status?.observedGeneration === f.metadata.generation &&
        f.status?.rollout?.phase === 'Complete' &&
        f.status.ready === '4/4' &&
        f.status.currentRevision === f.status.updateRevision,
      90_000,
    );
    assert.equal(done.status?.rollout?.phase, 'Complete');
    await feed(1);
    await new Promise((r) => setTimeout(r, 1000));
    assertIdentical();
  });
});
