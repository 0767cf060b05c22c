// SPDX-License-Identifier: Apache-2.0
// The native agent without MQTT 5 subscription identifiers (MQTT 3.1.1) holds no two overlapping
// subscriptions (ADR 0034, the Node agent's ADR on overlaps): two functions whose filters only
// partly overlap (`sensors/+/probe`, `sensors/<node>/+`) are served through one wider subscription
// (`sensors/+/+`), so a broker that sends one copy per matching subscription (nats-server) cannot
// deliver a reading twice; routing stays by each function's own filter. Mosquitto's subscribe log
// shows what the agent asked for.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { startMosquitto, uniqueName, type Mosquitto } from '@wasmfleet/test-support';
import {
  collect,
  connect,
  fnSpec,
  fnStatus,
  publishDesired,
  publishModule,
  until,
  waitForStatus,
} from '../../agent/test/helpers/fleet.ts';
import { fixture } from '../../agent/test/helpers/wasm.ts';
import { nativeAgentBinary, startNativeAgent, type NativeAgent } from './helpers.ts';

let broker: Mosquitto;
let client: MqttClient;
let agent: NativeAgent | undefined;

before(async () => {
  await nativeAgentBinary();
  broker = await startMosquitto({ extraConfig: ['log_type subscribe', 'log_type unsubscribe'] });
  client = await connect(broker.url);
});

after(async () => {
  await agent?.process.stop();
  await client.endAsync();
  await broker.stop();
});

it('on MQTT 3.1.1 partly overlapping filters are held as one wider subscription, and each function takes each reading once', async () => {
  const node = uniqueName('disjoint');
  const echo = await fixture('healthy/echo.wat');
  await publishModule(client, echo);
  const probes = fnSpec('probes', echo, { inputs: [{ topic: 'sensors/+/probe', qos: 1, format: 'raw' }] });
  const mine = fnSpec('mine', echo, { inputs: [{ topic: 'sensors/{node}/+', qos: 0, format: 'raw' }] });
  const outProbes = await collect(client, `out/${node}/probes`);
  const outMine = await collect(client, `out/${node}/mine`);
  agent = await startNativeAgent(broker.url, node, { args: ['--mqtt-version', '4'] });
  await publishDesired(client, node, [probes, mine], 1);
  await waitForStatus(
    client,
    node,
    (s) => fnStatus(s, 'probes')?.phase === 'Running' && fnStatus(s, 'mine')?.phase === 'Running',
  );
  for (let i = 0; i < 20; i++) await client.publishAsync(`sensors/${node}/probe`, `both${i}`, { qos: 1 });
  await client.publishAsync(`sensors/other/probe`, 'probes-only', { qos: 1 });
  await client.publishAsync(`sensors/${node}/temp`, 'mine-only', { qos: 1 });
  await client.publishAsync(`sensors/other/temp`, 'nobody', { qos: 1 });
  await until('the outputs', () => outProbes.length >= 21 && outMine.length >= 21);
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(outProbes.length, 21);
  assert.equal(outMine.length, 21);
  assert.ok(outProbes.includes('probes-only') && !outProbes.includes('mine-only'));
  assert.ok(outMine.includes('mine-only') && !outMine.includes('probes-only'));
  assert.ok(![...outProbes, ...outMine].includes('nobody'));
  // What the broker was asked for: the merged filter (QoS 1, the higher), not the two it stands for.
  const log = await broker.log();
  const client_ = `wasmfleet-agent-${node}`;
  const subscribed = log
    .split('\n')
    .filter((l) => l.includes(client_) && / sensors\//.test(l))
    .map((l) => l.trim().split(' ').slice(-2).join(' '));
  assert.ok(subscribed.includes('1 sensors/+/+'), `subscriptions: ${subscribed.join(', ')}`);
  assert.ok(!subscribed.some((s) => s.endsWith('sensors/+/probe') || s.endsWith(`sensors/${node}/+`)));
});
