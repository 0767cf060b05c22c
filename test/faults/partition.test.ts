// SPDX-License-Identifier: Apache-2.0
// A device cut off from the broker for PARTITION_S seconds (60 in CI, 600 with WASMFLEET_LONG=1),
// with the agent running in its own network namespace so TCP sees silence, not a reset (or, where
// namespaces cannot be made, behind a blackholing proxy — the test says which).
//
// Two devices share the same partition:
//   steady — holds a backlog of readings when the link goes and keeps computing through it. Its
//     function never stops or restarts (not while cut off, not on heal), what it produces offline
//     is held only up to the agent's bound (--output-buffer 200) and the overflow is counted in its
//     status and logged; after heal every reading comes out (the broker redelivers what could
//     not be acknowledged), duplicates counted.
//   reboot — its agent is restarted in the middle of the partition and comes back from its cache
//     with no broker; a new desired state published during the partition is applied after heal,
//     and readings sent during the partition are all processed.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import type { NodeStatus } from '@wasmfleet/api';
import {
  createDeviceLink,
  freePort,
  startMosquitto,
  type DeviceLink,
  type Mosquitto,
} from '@wasmfleet/test-support';
import { fnStatus, waitForStatus } from '../../agent/test/helpers/fleet.ts';
import {
  deployEcho,
  LONG,
  NumberedStream,
  report,
  scratchDir,
  slowEcho,
  startAgentProcess,
  waitForRunning,
  type AgentProcess,
} from './helpers/pipeline.ts';

const PARTITION_S = Number(process.env.WASMFLEET_PARTITION_SECONDS ?? (LONG ? 600 : 60));
const BACKLOG = 600;
/** Readings each sensor publishes while the link is down (at 10 a second). */
const DURING = Math.min(600, PARTITION_S * 5);
const BUFFER = 50;
const LIMITS = { memoryBytes: 16 * 1024 * 1024, timeoutMs: 2_000 };
/** QoS 1 readings (never lost) and a QoS 0 burst (what the output bound is for). */
const INPUTS = [
  { topic: 'sensors/{node}/echo', qos: 1 as const, format: 'raw' as const },
  { topic: 'sensors/{node}/burst', qos: 0 as const, format: 'raw' as const },
];
const BURST = 300;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe(`a device partitioned for ${PARTITION_S} s`, { timeout: (PARTITION_S + 300) * 1000 }, () => {
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  let broker: Mosquitto;
  let control: MqttClient;
  const links: Record<'steady' | 'reboot', DeviceLink | undefined> = { steady: undefined, reboot: undefined };
  const agents: AgentProcess[] = [];

  before(async () => {
    dir = await scratchDir('partition');
    const port = await freePort();
    links.steady = await createDeviceLink({ brokerPort: port });
    links.reboot = await createDeviceLink({ brokerPort: port });
    report(`partition via ${links.steady.kind}: ${links.steady.why}`);
    broker = await startMosquitto({
      port,
      extraConfig: [...links.steady.brokerConfig, ...links.reboot.brokerConfig],
    });
    control = await mqtt.connectAsync(broker.url, { protocolVersion: 5, reconnectPeriod: 250 });
  });
  after(async () => {
    await Promise.allSettled(agents.map((a) => a.process.stop()));
    await control.endAsync(true);
    await broker.dispose();
    await links.steady?.dispose();
    await links.reboot?.dispose();
    await dir[Symbol.asyncDispose]();
  });

  it('keeps functions running, bounds and counts what it cannot send, and reconciles on return', async () => {
    const steadyLink = links.steady!;
    const rebootLink = links.reboot!;
    const module = await slowEcho();
    const start = (node: string, link: DeviceLink): AgentProcess => {
      const agent = startAgentProcess({
        brokerUrl: link.brokerUrl,
        node,
        dataDir: path.join(dir.path, node),
        extraArgs: ['--output-buffer', String(BUFFER)],
        spawn: (name, command, options) => link.spawn(name, command, options),
      });
      agents.push(agent);
      return agent;
    };
    const steady = start('part-steady', steadyLink);
    let reboot = start('part-reboot', rebootLink);
    for (const node of ['part-steady', 'part-reboot']) {
      await deployEcho(control, node, 1, { limits: LIMITS, inputs: INPUTS }, module);
      await waitForRunning(control, node, 60_000);
    }
    const before = await waitForStatus(
      control,
      'part-steady',
      (s) => fnStatus(s, 'echo')?.phase === 'Running',
    );
    const since = fnStatus(before, 'echo')?.since;

    const streams = {
      steady: await NumberedStream.open({
        sensorUrl: broker.url,
        sinkUrl: broker.url,
        input: 'sensors/part-steady/echo',
        output: 'out/part-steady/echo',
        capacity: BACKLOG + DURING,
        tag: 'part-steady',
      }),
      reboot: await NumberedStream.open({
        sensorUrl: broker.url,
        sinkUrl: broker.url,
        input: 'sensors/part-reboot/echo',
        output: 'out/part-reboot/echo',
        capacity: DURING,
        tag: 'part-reboot',
      }),
    };
    try {
      // A backlog the steady agent is still working through when its link goes: QoS 1 readings,
      // then a QoS 0 burst (no flow control holds those back, so the bound has to).
      await streams.steady.send(0, BACKLOG, { perSecond: 1_000_000, window: BACKLOG });
      for (let i = 0; i < BURST; i++) {
        const payload = Buffer.alloc(16);
        payload.writeUInt32BE(1_000_000 + i, 0);
        await control.publishAsync('sensors/part-steady/burst', payload, { qos: 1 });
      }
      await sleep(300); // on the device's socket by now
      const seenBefore = streams.steady.received;
      await Promise.all([steadyLink.partition(), rebootLink.partition()]);
      const cutAt = Date.now();
      report(
        `partitioned with ${BACKLOG + BURST - seenBefore} of ${BACKLOG} + ${BURST} backlog readings not yet out`,
      );

      // During the partition: sensors keep publishing (the broker queues for the agents), the
      // reboot device's agent restarts, and its desired state changes.
      const during = Promise.all([
        streams.steady.send(BACKLOG, BACKLOG + DURING, { perSecond: 10 }),
        streams.reboot.send(0, DURING, { perSecond: 10 }),
      ]);
      await sleep((PARTITION_S * 1000) / 2);
      assert.equal(steady.process.child.exitCode, null, 'the steady agent is still running');
      await reboot.process.stop();
      reboot = start('part-reboot', rebootLink);
      await deployEcho(
        control,
        'part-reboot',
        2,
        { revision: 'echo-2', config: { V: '2' }, limits: LIMITS },
        module,
      );
      await sleep(Math.max(0, cutAt + PARTITION_S * 1000 - Date.now()));
      assert.equal(steady.process.child.exitCode, null, 'the steady agent survived the partition');
      assert.equal(reboot.process.child.exitCode, null, 'the restarted agent runs without a broker');
      await Promise.all([steadyLink.heal(), rebootLink.heal()]);
      const healedAt = Date.now();
      report(`healed after ${((healedAt - cutAt) / 1000).toFixed(0)} s`);
      await during;

      // steady: everything out, nothing restarted, the overflow counted in status and logs.
      const steadyTally = await streams.steady.settle(0, BACKLOG + DURING, {
        quietMs: 20_000,
        maxMs: 240_000,
      });
      const settledAt = Date.now();
      const after: NodeStatus = await waitForStatus(
        control,
        'part-steady',
        (s) => s.state === 'online' && (s.outputBuffer?.dropped ?? 0) > 0 && s.outputBuffer?.messages === 0,
        60_000,
      );
      const fn = fnStatus(after, 'echo');
      report(
        `steady: sent ${steadyTally.sent}, lost ${steadyTally.lost}, duplicated ${steadyTally.duplicated}; ` +
          `output buffer ${JSON.stringify(after.outputBuffer)}; all out ${((settledAt - healedAt) / 1000).toFixed(0)} s after heal`,
      );
      assert.equal(steadyTally.lost, 0, 'readings lost across the partition');
      assert.ok(fn, 'the steady device reports its function');
      assert.equal(fn.phase, 'Running');
      assert.equal(fn.restarts, 0, 'the function never restarted');
      assert.equal(fn.since, since, 'the function never left Running (no restart on heal)');
      assert.equal(fn.revision, 'echo-1');
      assert.equal(after.outputBuffer?.maxMessages, BUFFER, 'the bound given with --output-buffer');
      const log = await steady.log();
      assert.match(log, /output buffer full \(\d+\/50 messages/, 'the overflow is in the agent log');
      assert.doesNotMatch(log, /reconcile failed|uncaught|FATAL/i);

      // reboot: back from its cache, then the partition's desired state applied.
      const rebootStatus = await waitForStatus(
        control,
        'part-reboot',
        (s) =>
          s.observedGeneration === 2 &&
          fnStatus(s, 'echo')?.revision === 'echo-2' &&
          fnStatus(s, 'echo')?.phase === 'Running',
        60_000,
      );
      const rebootTally = await streams.reboot.settle(0, DURING, { quietMs: 20_000, maxMs: 240_000 });
      report(
        `reboot: sent ${rebootTally.sent}, lost ${rebootTally.lost}, duplicated ${rebootTally.duplicated}; ` +
          `observedGeneration ${rebootStatus.observedGeneration}`,
      );
      assert.equal(rebootTally.lost, 0, 'readings sent during the partition lost');
    } finally {
      await streams.steady.close();
      await streams.reboot.close();
    }
  });
});
