// SPDX-License-Identifier: Apache-2.0
// What must survive: a revision change under load, a SIGKILLed agent, a reboot without a broker.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { startMosquitto, type Mosquitto } from '@wasmfleet/test-support';
import {
  startAgent,
  collect,
  connect,
  fnSpec,
  fnStatus,
  publishDesired,
  publishModule,
  until,
  waitForStatus,
} from '../helpers/fleet.ts';
import { tempDir } from '../helpers/tmp.ts';
import { fixture } from '../helpers/wasm.ts';

const AGENT_BIN = new URL('../../bin/wasmfleet-agent.js', import.meta.url).pathname;

let broker: Mosquitto;
let operator: MqttClient;
let echo: Uint8Array;
let features: Uint8Array;

function spawnAgent(node: string, dataDir: string): ChildProcess {
  return spawn(
    process.execPath,
    [AGENT_BIN, '--broker', broker.url, '--node', node, '--data-dir', dataDir, '--heartbeat', '1'],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
}

/** Publishes `count` numbered QoS 1 messages at about `perSecond`. */
async function stream(
  topic: string,
  count: number,
  perSecond: number,
  onSent?: (i: number) => void,
): Promise<string[]> {
  const sent: string[] = [];
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    const m = `m${i}`;
    await operator.publishAsync(topic, m, { qos: 1 });
    sent.push(m);
    onSent?.(i);
    const ahead = t0 + ((i + 1) * 1000) / perSecond - performance.now();
    if (ahead > 1) await new Promise((r) => setTimeout(r, ahead));
  }
  return sent;
}

describe('agent resilience with a real broker', () => {
  before(async () => {
    broker = await startMosquitto();
    operator = await connect(broker.url);
    echo = await fixture('healthy/echo.wat');
    features = await fixture('healthy/features.wat');
    await publishModule(operator, echo);
    await publishModule(operator, features);
  });
  after(async () => {
    await operator.endAsync();
    await broker.dispose();
  });

  it('replacing a function with a new revision under a steady QoS 1 stream loses no message and repeats none', async () => {
    await using dir = await tempDir();
    const agent = await startAgent(broker.url, 'rev-1', dir.path);
    try {
      const v1 = fnSpec('f', echo, { revision: 'r1' });
      await publishDesired(operator, 'rev-1', [v1], 1);
      await waitForStatus(operator, 'rev-1', (s) => fnStatus(s, 'f')?.phase === 'Running');
      const sink = await collect(operator, 'out/rev-1/f');
      // r2 differs only in config: the agent must still load it and switch over mid-stream.
      const v2 = fnSpec('f', echo, { revision: 'r2', config: { VERSION: '2' } });
      const sent = await stream('sensors/rev-1/f', 1500, 1000, (i) => {
        if (i === 500) void publishDesired(operator, 'rev-1', [v2], 2);
      });
      await until('every output', () => sink.length >= sent.length, 20_000);
      await new Promise((r) => setTimeout(r, 300)); // any duplicate would arrive by now
      assert.equal(new Set(sink).size, sink.length, 'no message was processed twice');
      assert.deepEqual([...sink].sort(), [...sent].sort(), 'every message was processed');
      const status = await waitForStatus(
        operator,
        'rev-1',
        (s) => fnStatus(s, 'f')?.revision === 'r2' && fnStatus(s, 'f')?.phase === 'Running',
      );
      assert.equal(status.observedGeneration, 2);
    } finally {
      await agent.stop();
    }
  });

  it('an agent killed with SIGKILL mid-stream and restarted loses no QoS 1 message', async () => {
    await using dir = await tempDir();
    let child = spawnAgent('kill-1', dir.path);
    try {
      await publishDesired(operator, 'kill-1', [fnSpec('f', echo)], 1);
      await waitForStatus(
        operator,
        'kill-1',
        (s) => s.state === 'online' && fnStatus(s, 'f')?.phase === 'Running',
      );
      const sink = await collect(operator, 'out/kill-1/f');
      let killed = false;
      const sent = await stream('sensors/kill-1/f', 1000, 800, (i) => {
        if (i === 400) {
          child.kill('SIGKILL');
          killed = true;
        }
        if (i === 600) child = spawnAgent('kill-1', dir.path);
      });
      assert.ok(killed);
      await until(
        'every message processed after the restart',
        () => new Set(sink).size >= sent.length,
        30_000,
      );
      assert.deepEqual([...new Set(sink)].sort(), [...sent].sort());
    } finally {
      child.kill('SIGTERM');
      if (child.exitCode === null) await once(child, 'exit');
    }
  });

  it('an agent restarted while the broker is down runs its functions from the cache, and messages flow once the broker is back', async () => {
    await using dir = await tempDir();
    const first = await startAgent(broker.url, 'offline-1', dir.path);
    await publishDesired(operator, 'offline-1', [fnSpec('f', echo)], 1);
    await waitForStatus(operator, 'offline-1', (s) => fnStatus(s, 'f')?.phase === 'Running');
    await first.stop();

    await broker.stop();
    const second = await startAgent(broker.url, 'offline-1', dir.path);
    try {
      // No broker: the function comes back from the on-disk desired state and module cache.
      assert.equal(second.status().functions?.[0]?.phase, 'Running');
      assert.equal(second.status().observedGeneration, 1);
      await broker.start();
      await until('the agent to reconnect', () => second.client?.connected === true, 20_000);
      const sink = await collect(operator, 'out/offline-1/f');
      await new Promise((r) => setTimeout(r, 200));
      await operator.publishAsync('sensors/offline-1/f', 'after the outage', { qos: 1 });
      await until('the output', () => sink.includes('after the outage'));
    } finally {
      await second.stop();
      if (!operator.connected) await until('the operator to reconnect', () => operator.connected);
    }
  });
});
