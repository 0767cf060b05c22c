// SPDX-License-Identifier: Apache-2.0
// Issue 18's must-show: everything the CLI showed per device at 1,000 devices is still shown at
// 100,000. Since ADR 0023 per-device detail (how many functions, which, the last heartbeat) comes
// from each device's retained status, and the read has one branch on fleet size: up to
// EXACT_TOPICS_UP_TO devices it subscribes to each device's topic, above it to one wildcard that
// also brings every other fleet's statuses. fleet-summaries.test.ts (24 devices) covers the first;
// this covers the second — the path every fleet of 1,000 or 100,000 takes — with a real API
// server, Mosquitto and the bundled CLI, and other devices' statuses on the same broker.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import { statusTopic, type FunctionStatusReport, type NodeStatus } from '@wasmfleet/api';
import { startMosquitto, uniqueName, type ControlPlane, type Mosquitto } from '@wasmfleet/test-support';
import { EXACT_TOPICS_UP_TO } from '../src/broker/retained-status.ts';
import { cli, sharedControlPlane } from './helpers.ts';

const DEVICES = EXACT_TOPICS_UP_TO + 20;
const STRANGERS = 50; // another fleet's devices on the same broker
const functionsOf = (i: number) => i % 3; // 0, 1 or 2 functions

function report(name: string, i: number): FunctionStatusReport {
  const failing = i % 7 === 0;
  return {
    namespace: 'plant',
    name,
    revision: 'a1b2c3d4e5f6',
    phase: failing ? 'Failed' : 'Running',
    ...(failing ? { reason: 'Trap', lastError: 'unreachable executed' } : {}),
    since: new Date().toISOString(),
    restarts: 0,
    invocations: 40 + i,
    errors: failing ? 3 : 0,
    malformed: 0,
  };
}

function status(node: string, i: number): NodeStatus {
  return {
    version: 1,
    node,
    state: 'online',
    agentVersion: '0.3.0',
    heartbeatAt: new Date().toISOString(),
    heartbeatIntervalSeconds: 30,
    sensors: [{ name: 'temperature' }],
    functions: ['alert', 'filter'].slice(0, functionsOf(i)).map((f) => report(f, i)),
  };
}

describe(`get nodes at fleet size (over ${EXACT_TOPICS_UP_TO} devices: one wildcard read)`, () => {
  let plane: ControlPlane;
  let broker: Mosquitto;
  const fleet = uniqueName('big');
  const name = (i: number) => `${fleet}-d${String(i).padStart(4, '0')}`;

  before(async () => {
    plane = await sharedControlPlane();
    broker = await startMosquitto();
    const items = Array.from({ length: DEVICES }, (_, i) => ({
      apiVersion: 'wasmfleet.io/v1alpha1',
      kind: 'EdgeNode',
      metadata: { name: name(i), labels: { 'wasmfleet.io/fleet': fleet } },
      spec: {},
    }));
    const created = await plane.kubectl(['create', '-f', '-'], {
      stdin: JSON.stringify({ apiVersion: 'v1', kind: 'List', items }),
    });
    assert.equal(created.code, 0, created.stderr);
    const client = await mqtt.connectAsync(broker.url, { clientId: uniqueName('statuses') });
    const publish = (node: string, i: number) =>
      client.publishAsync(statusTopic(node), JSON.stringify(status(node, i)), { qos: 1, retain: true });
    await Promise.all(Array.from({ length: DEVICES }, (_, i) => publish(name(i), i)));
    await Promise.all(Array.from({ length: STRANGERS }, (_, i) => publish(`other-${fleet}-${i}`, i)));
    await client.endAsync();
  });
  after(async () => {
    await plane.kubectl(['delete', 'edgenodes', '-l', `wasmfleet.io/fleet=${fleet}`, '--wait=false']);
    await broker.dispose();
  });

  const getNodes = async (...extra: string[]) => {
    const r = await cli(
      ['get', 'nodes', '-l', `wasmfleet.io/fleet=${fleet}`, '--broker', broker.url, ...extra],
      plane.kubeconfigPath,
    );
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.stderr, '', 'every device was read: no note about missing statuses');
    const [header = '', ...rows] = r.stdout.trimEnd().split('\n');
    return { header, rows };
  };

  it('shows every device with how many functions it runs and its last heartbeat', async () => {
    const { header, rows } = await getNodes();
    assert.match(header, /\sFUNCTIONS\s+LAST-SEEN$/);
    assert.equal(rows.length, DEVICES);
    for (const row of rows) {
      const i = Number(/-d(\d{4})\s/.exec(row)?.[1]);
      assert.match(row.trimEnd(), new RegExp(`\\s${functionsOf(i)}\\s+\\d+s$`), `device ${i}: ${row}`);
    }
  });

  it('-o wide shows which functions each device runs', async () => {
    const { header, rows } = await getNodes('-o', 'wide');
    assert.match(header, /\sRUNS\s*$/);
    const runs = new Map(rows.map((r) => [/^(\S+)/.exec(r)?.[1], r.trimEnd()]));
    assert.match(runs.get(name(2)) ?? '', /\splant\/alert,plant\/filter$/);
    assert.match(runs.get(name(1)) ?? '', /\splant\/alert$/);
  });

  it('describe node still shows a device’s every function: revision, phase, reason, calls, errors, last error', async () => {
    const r = await cli(['describe', 'node', name(14), '--broker', broker.url], plane.kubeconfigPath);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /Last heartbeat:\s+\S+ \(\d+s ago\)/);
    assert.match(
      r.stdout,
      /plant\/alert\s+a1b2c3d4e5f6\s+Failed\s+Trap\s+54\s+3\s+-\s+-\s+unreachable executed/,
    );
    assert.match(r.stdout, /plant\/filter\s+a1b2c3d4e5f6\s+Failed\s+Trap\s+54\s+3\s/);
  });
});
