// SPDX-License-Identifier: Apache-2.0
// Regression: a device holding overlapping input filters (`sensors/<node>/+` from one function,
// the exact `sensors/<node>/probe` of another, `sensors/<node>/#` of a third) ran every matching
// function once per COPY on Mosquitto, which delivers one copy per matching subscription to MQTT 5
// clients: 500 readings gave 1,000 outputs. aedes delivers one copy, so the tests never saw it.
// Each reading must run each matching function exactly once on every broker: Mosquitto (MQTT 5
// with subscription identifiers, MQTT 5 without using them, MQTT 3.1.1), aedes (3.1.1, one copy)
// and nats-server (3.1.1, one copy per subscription) — QoS 0 and 1, and across revision swaps.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { startAedes, startMosquitto, startNatsServer } from '@wasmfleet/test-support';
import type { DesiredFunction } from '@wasmfleet/api';
import { Agent } from '../../src/node/agent.ts';
import {
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

const READINGS = 100;

interface BrokerCase {
  readonly name: string;
  readonly start: () => Promise<{ url: string; dispose(): Promise<void> }>;
  /** The agent's MQTT version and whether it may use subscription identifiers. */
  readonly protocolVersion: 4 | 5;
  readonly subscriptionIdentifiers?: boolean;
  /** What the operator-side test client speaks to this broker. */
  readonly clientVersion: 4 | 5;
  /**
   * The broker sends one copy per matching subscription and the agent has no identifiers to tell
   * them apart: while its plan changes (a covering filter subscribed before the covered one is
   * unsubscribed) a reading may be taken twice (docs/adr/0024, "Left").
   */
  readonly duplicatesWhilePlanChanges?: boolean;
}

const BROKERS: readonly BrokerCase[] = [
  {
    name: 'Mosquitto, MQTT 5 (subscription identifiers)',
    start: startMosquitto,
    protocolVersion: 5,
    clientVersion: 5,
  },
  {
    name: 'Mosquitto, MQTT 5 without subscription identifiers (one copy per subscription)',
    start: startMosquitto,
    protocolVersion: 5,
    subscriptionIdentifiers: false,
    clientVersion: 5,
    duplicatesWhilePlanChanges: true,
  },
  { name: 'Mosquitto, MQTT 3.1.1', start: startMosquitto, protocolVersion: 4, clientVersion: 5 },
  { name: 'aedes, MQTT 3.1.1 (one copy)', start: startAedes, protocolVersion: 5, clientVersion: 4 },
  {
    name: 'nats-server, MQTT 3.1.1 (one copy per subscription)',
    start: startNatsServer,
    protocolVersion: 5,
    clientVersion: 4,
    duplicatesWhilePlanChanges: true,
  },
];

type Fn = (name: string, topics: readonly string[], revision?: string) => DesiredFunction;

function functionMaker(echo: Uint8Array, qos: 0 | 1): Fn {
  return (name, topics, revision = `${name}-1`) =>
    fnSpec(name, echo, {
      revision,
      inputs: topics.map((topic) => ({ topic, qos, format: 'raw' as const })),
      outputs: [{ topic: `out/{node}/${name}`, qos, retain: false }],
      config: { REVISION: revision },
    });
}

/**
 * Filters that all match `sensors/<node>/probe`: a `+`, the exact topic, a `#`, a function whose
 * own two inputs overlap, and one that only partly overlaps the others (`+` in the node level).
 */
function overlapping(fn: Fn): DesiredFunction[] {
  return [
    fn('wide', ['sensors/{node}/+']),
    fn('probe', ['sensors/{node}/probe']),
    fn('hash', ['sensors/{node}/#']),
    fn('both', ['sensors/{node}/+', 'sensors/{node}/probe']),
    fn('anynode', ['sensors/+/probe']),
  ];
}

interface Rig {
  readonly operator: MqttClient;
  readonly agent: Agent;
  readonly outputs: Map<string, string[]>;
}

async function withRig(
  broker: BrokerCase,
  node: string,
  body: (rig: Rig, echo: Uint8Array) => Promise<void>,
): Promise<void> {
  const server = await broker.start();
  await using dir = await tempDir();
  const echo = await fixture('healthy/echo.wat');
  const operator = await connect(server.url, undefined, broker.clientVersion);
  const agent = new Agent({
    brokerUrl: server.url,
    nodeId: node,
    dataDir: dir.path,
    heartbeatSeconds: 1,
    protocolVersion: broker.protocolVersion,
    ...(broker.subscriptionIdentifiers === undefined
      ? {}
      : { subscriptionIdentifiers: broker.subscriptionIdentifiers }),
    log: () => undefined,
  });
  try {
    await publishModule(operator, echo);
    const outputs = new Map<string, string[]>();
    operator.on('message', (topic, payload) => {
      const name = topic.startsWith(`out/${node}/`) ? topic.slice(`out/${node}/`.length) : undefined;
      if (name === undefined) return;
      const list = outputs.get(name) ?? [];
      list.push(payload.toString());
      outputs.set(name, list);
    });
    await operator.subscribeAsync(`out/${node}/#`, { qos: 1 });
    await agent.start();
    await body({ operator, agent, outputs }, echo);
  } finally {
    await agent.stop();
    await operator.endAsync();
    await server.dispose();
  }
}

async function deploy(
  rig: Rig,
  node: string,
  functions: DesiredFunction[],
  generation: number,
): Promise<void> {
  await publishDesired(rig.operator, node, functions, generation);
  await waitForStatus(
    rig.operator,
    node,
    (s) =>
      s.observedGeneration === generation &&
      s.functions?.length === functions.length &&
      functions.every((f) => {
        const r = fnStatus(s, f.name);
        return r?.phase === 'Running' && r.revision === f.revision;
      }),
    30_000,
  );
}

/** Every function published exactly one output per reading (duplicates would land right behind). */
async function assertOncePerReading(
  rig: Rig,
  names: readonly string[],
  sent: readonly string[],
): Promise<void> {
  await assertEveryReading(rig, names, sent);
  for (const name of names) {
    assert.deepEqual(
      rig.outputs.get(name)?.slice().sort(),
      sent.slice().sort(),
      `function ${name} published exactly one output per reading`,
    );
  }
}

/** Every function published an output for every reading; returns how many were duplicates. */
async function assertEveryReading(
  rig: Rig,
  names: readonly string[],
  sent: readonly string[],
): Promise<number> {
  await until(
    'an output per function for every reading',
    () => names.every((n) => new Set(rig.outputs.get(n)).size >= sent.length),
    30_000,
  );
  await new Promise((resolve) => setTimeout(resolve, 500));
  let duplicates = 0;
  for (const name of names) {
    const outputs = rig.outputs.get(name) ?? [];
    assert.deepEqual(
      [...new Set(outputs)].sort(),
      sent.slice().sort(),
      `function ${name} took every reading`,
    );
    duplicates += outputs.length - new Set(outputs).size;
  }
  return duplicates;
}

for (const broker of BROKERS) {
  describe(`each reading runs each matching function once: ${broker.name}`, () => {
    for (const qos of [1, 0] as const) {
      it(`QoS ${qos}: ${READINGS} readings on overlapping +, # and exact filters give ${READINGS} outputs per function`, async () => {
        const node = `once-q${qos}`;
        await withRig(broker, node, async (rig, echo) => {
          const functions = overlapping(functionMaker(echo, qos));
          await deploy(rig, node, functions, 1);
          const sent = Array.from({ length: READINGS }, (_, i) => `reading-${i}`);
          for (const m of sent) await rig.operator.publishAsync(`sensors/${node}/probe`, m, { qos });
          await assertOncePerReading(
            rig,
            functions.map((f) => f.name),
            sent,
          );
          await new Promise((resolve) => setTimeout(resolve, 1_100)); // one heartbeat
          const status = await waitForStatus(rig.operator, node, () => true);
          for (const f of functions)
            assert.equal(
              fnStatus(status, f.name)?.invocations,
              READINGS,
              `${f.name} was called once per reading`,
            );
        });
      });
    }

    it(`QoS 1: readings flowing while a function with a covering filter comes and goes are each processed ${broker.duplicatesWhilePlanChanges ? 'at least ' : ''}once`, async (t) => {
      const node = 'once-cover';
      await withRig(broker, node, async (rig, echo) => {
        const fn = functionMaker(echo, 1);
        const probe = fn('probe', ['sensors/{node}/probe']);
        await deploy(rig, node, [probe], 1);
        const sent: string[] = [];
        let publishing = true;
        const publisher = (async () => {
          for (let i = 0; publishing; i++) {
            const m = `reading-${i}`;
            sent.push(m);
            await rig.operator.publishAsync(`sensors/${node}/probe`, m, { qos: 1 });
            if (i % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 2));
          }
        })();
        await until('some readings first', () => sent.length >= 50);
        await deploy(rig, node, [probe, fn('hash', ['sensors/{node}/#'])], 2);
        let mark = sent.length;
        await until('some readings with both', () => sent.length >= mark + 50);
        await deploy(rig, node, [probe], 3);
        mark = sent.length;
        await until('some readings after', () => sent.length >= mark + 50);
        publishing = false;
        await publisher;
        const hash = rig.outputs.get('hash') ?? [];
        assert.ok(hash.length > 0, 'the covering function ran while it was deployed');
        if (broker.duplicatesWhilePlanChanges) {
          const duplicates = await assertEveryReading(rig, ['probe'], sent);
          t.diagnostic(`${duplicates} of ${sent.length} readings taken twice across the two plan changes`);
          return;
        }
        await assertOncePerReading(rig, ['probe'], sent);
        assert.equal(new Set(hash).size, hash.length, 'the covering function took each reading once');
      });
    });

    it('QoS 1: readings flowing while revisions take over (same filter, and a filter that changes) are each processed once', async () => {
      const node = 'once-swap';
      await withRig(broker, node, async (rig, echo) => {
        const fn = functionMaker(echo, 1);
        await deploy(rig, node, [fn('wide', ['sensors/{node}/+']), fn('probe', ['sensors/{node}/probe'])], 1);
        const sent: string[] = [];
        let publishing = true;
        const publisher = (async () => {
          for (let i = 0; publishing; i++) {
            const m = `reading-${i}`;
            sent.push(m);
            await rig.operator.publishAsync(`sensors/${node}/probe`, m, { qos: 1 });
            if (i % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 2));
          }
        })();
        await until('some readings before the swap', () => sent.length >= 50);
        // `wide` gets a new revision with the same filter; `probe` one whose filter becomes the
        // `+` that `wide` holds too.
        await deploy(
          rig,
          node,
          [fn('wide', ['sensors/{node}/+'], 'wide-2'), fn('probe', ['sensors/{node}/+'], 'probe-2')],
          2,
        );
        const atSwap = sent.length;
        await until('some readings after the swap', () => sent.length >= atSwap + 50);
        publishing = false;
        await publisher;
        await assertOncePerReading(rig, ['wide', 'probe'], sent);
      });
    });
  });
}
