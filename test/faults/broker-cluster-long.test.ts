// SPDX-License-Identifier: Apache-2.0
// The long form of the clustered-broker test (issue 18, opt-in): a 3-node nats-server cluster, the
// real operator and six real agents spread over the three nodes (twelve with WASMFLEET_LONG=1),
// each given every node. A node is SIGKILLed in the pause of a canary rollout: the devices on it
// reconnect to the others, every surviving node holds every device's desired document for the
// update revision, and the rollout finishes. WASMFLEET_LONG=1 kills each node in turn, restarting
// the one killed before. The short form in the default suite is broker-cluster.test.ts.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '@wasmfleet/test-support';
import { LONG, report } from './helpers/pipeline.ts';
import { currentNode, movedOff, startNatsFleet, type NatsFleet } from './helpers/nats-fleet.ts';

const DEVICES = LONG ? 12 : 6;
const KILLS = LONG ? 3 : 1;
/** Opt-in (ADR 0029, 0048): ~45 s at load 10, ~4 min at load 50; the short form runs by default. */
const ENABLED = LONG || process.env.WASMFLEET_NATS_CLUSTER === '1';

describe(
  'the fleet on a 3-node NATS cluster, each node killed mid-rollout in turn (long form)',
  {
    timeout: 15 * 60_000,
    skip: ENABLED ? false : 'opt-in (WASMFLEET_NATS_CLUSTER=1 or npm run faults:long): see ADR 0048',
  },
  () => {
    let fleet: NatsFleet | undefined;
    before(async () => {
      fleet = await startNatsFleet({
        prefix: 'nats-cluster-long',
        devices: DEVICES,
        // Device i starts on node i % 3 and knows the other two.
        brokersOf: (i, urls) => [...urls.slice(i % urls.length), ...urls.slice(0, i % urls.length)],
        // A third of the fleet first, a pause, then the rest: the kill lands in the pause, so
        // two thirds of the update is published after a node is gone.
        steps: [{ percent: 34, pause: '5s' }, { percent: 100 }],
      });
    });
    after(async () => {
      await fleet?.dispose();
    });

    for (let k = 0; k < KILLS; k++) {
      it(`kill ${k + 1}/${KILLS}: node n${k + 1} SIGKILLed during a canary's pause; devices move, nothing is lost, the rollout finishes`, async () => {
        assert.ok(fleet, 'the fleet started');
        const f: NatsFleet = fleet;
        const nodes = f.cluster.nodes;
        const victim = nodes[k % nodes.length];
        assert.ok(victim);
        const previous = nodes[(k + nodes.length - 1) % nodes.length];
        if (k > 0 && previous && !previous.running) await previous.start();
        const started = Date.now();
        await f.setThreshold(String(40 + k));
        await waitFor(
          'the canary to pause with part of the fleet updated',
          async () => {
            const s = (await f.fn()).status;
            return s &&
              s.updateRevision !== s.currentRevision &&
              (s.updatedNodes ?? 0) >= 1 &&
              (s.updatedNodes ?? 0) < DEVICES
              ? true
              : undefined;
          },
          { timeoutMs: 60_000, intervalMs: 50 },
        );
        const midway = (await f.fn()).status;
        const on = await Promise.all(f.agents.map((a) => currentNode(a, f.cluster)));
        const onVictim = f.agents.filter((_, i) => on[i] === victim);
        const logsBefore = await Promise.all(onVictim.map(async (a) => (await a.log()).length));
        await victim.kill();
        const killedAt = Date.now();
        const done = await waitFor('the rollout to finish on the surviving nodes', () => f.converged(), {
          timeoutMs: 120_000,
          intervalMs: 250,
        }).catch(async (error: unknown) => {
          throw new Error(
            `${(error as Error).message}; status: ${JSON.stringify((await f.fn()).status)}\n${await f.diagnostics()}`,
            { cause: error },
          );
        });
        const update = done.status?.updateRevision ?? '';
        report(
          `nats cluster kill ${k + 1}: ${victim.name} killed with ${onVictim.length}/${DEVICES} devices on it and ${midway?.updatedNodes}/${DEVICES} updated; ` +
            `rollout finished ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill ` +
            `(${((Date.now() - started) / 1000).toFixed(1)} s after the patch)`,
        );
        for (const node of nodes.filter((n) => n.running)) {
          const held = await f.retainedRevisions(node.url, update);
          const lost = f.devices.filter((d) => held.get(d) !== update);
          assert.deepEqual(
            lost,
            [],
            `${node.name} does not hold the update revision's desired document for these devices`,
          );
        }
        // The devices that were on the killed node say they reconnected to another one.
        for (const [i, agent] of onVictim.entries())
          assert.ok(
            await movedOff(agent, victim, f.cluster, logsBefore[i]),
            `an agent that started on ${victim.name} never connected to another node:\n${(await agent.log()).slice(-2000)}`,
          );
      });
    }
  },
);
