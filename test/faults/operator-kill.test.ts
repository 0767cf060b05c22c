// SPDX-License-Identifier: Apache-2.0
// The operator SIGKILLed at random points of reconciles and rollouts — creating, updating and
// deleting WasmFunctions (with their finalizer), moving devices between selectors, Rolling and
// Canary rollouts — and restarted each time, as a Deployment would. After every burst of kills
// the fleet must converge to the spec, and over the whole run, counted from the broker's side:
// no device is told the same document twice in a row, no device goes through a revision twice
// (a rollout step never runs twice), no finalizer sticks, status.observedGeneration catches up.
//
// The kill points come from a seeded PRNG: the seed is printed; WASMFLEET_FAULT_SEED=<n>
// replays the same schedule (timing on a busy machine still varies). WASMFLEET_LONG=1 kills more.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sharedControlPlane, waitFor } from '@wasmfleet/test-support';
import { CANARY, FleetModel, ROLLING, type FunctionSpec } from './support/fleet-model.ts';
import type { OperatorProcess } from '../../operator/test/operator/operator-process.ts';
import { recordDesired, type DesiredRecorder } from './support/desired-recorder.ts';
import { startFaultFleet, type FaultFleet } from './support/fleet.ts';
import { faultSeed, LONG, percentile, seededRandom, sleep } from './support/settings.ts';

const KILLS = LONG ? 150 : 50;
const DEVICES = LONG ? 16 : 8;

describe('the operator SIGKILLed at random points of reconciles and rollouts', () => {
  let f: FaultFleet;
  let recorder: DesiredRecorder;
  let model: FleetModel;

  before(async () => {
    const plane = await sharedControlPlane();
    f = await startFaultFleet(plane, 'kill');
    recorder = await recordDesired(f.broker.url);
    model = new FleetModel(f);
    for (let i = 0; i < DEVICES; i++) {
      await model.addDevice(`d${i}`, { site: 'plant', ring: i < DEVICES / 2 ? 'a' : 'b' });
    }
  });
  after(async () => {
    await f.close();
    await recorder.close();
  });

  const put = (name: string, spec: FunctionSpec) => model.put(name, spec);
  const update = (name: string, version: string) => model.update(name, version);
  const remove = (name: string) => model.remove(name);
  const relabel = (short: string, ring: string) => model.relabel(short, 'ring', ring);

  it('converges after every burst of kills, with no duplicate publish, no repeated step and no stuck finalizer', async () => {
    const seed = faultSeed('operator-kill');
    const random = seededRandom(seed);
    const ops: { what: string; run: () => Promise<void> }[] = [
      {
        what: 'create: a Rolling function everywhere, a Canary one on ring a, a Rolling one on ring b',
        run: async () => {
          await put('everywhere', { selector: { site: 'plant' }, rollout: ROLLING, version: '1' });
          await put('canary', { selector: { ring: 'a' }, rollout: CANARY, version: '1' });
          await put('temp', { selector: { ring: 'b' }, rollout: ROLLING, version: '1' });
        },
      },
      { what: 'Rolling update', run: () => update('everywhere', '2') },
      { what: 'Canary update', run: () => update('canary', '2') },
      { what: 'device label change: d1 moves from ring a to ring b', run: () => relabel('d1', 'b') },
      { what: 'delete (finalizer)', run: () => remove('temp') },
      {
        what: 'create one, Canary-update another',
        run: async () => {
          await put('late', { selector: { ring: 'b' }, rollout: CANARY, version: '1' });
          await update('canary', '3');
        },
      },
      {
        what: 'Rolling update and a label change together',
        run: async () => {
          await update('everywhere', '3');
          await relabel(`d${DEVICES - 1}`, 'a');
        },
      },
      {
        what: 'delete during its rollout',
        run: async () => {
          await update('late', '2');
          await remove('late');
        },
      },
    ];

    const kills: { op: string; delayMs: number; phase: 'starting' | 'reconciling' }[] = [];
    const convergenceMs: number[] = [];
    let operator: OperatorProcess = f.spawn();
    await waitFor(
      'the first operator to be ready',
      () => (operator.log.some((l) => l.includes('operator ready')) ? true : undefined),
      { timeoutMs: 60_000 },
    );

    for (const [index, op] of ops.entries()) {
      const burst = Math.floor(KILLS / ops.length) + (index < KILLS % ops.length ? 1 : 0);
      await op.run();
      for (let k = 0; k < burst; k++) {
        // The first kill lands while this change is being reconciled; later ones anywhere from
        // the restart (cache sync, retained-state read-back) to the reconciles after it.
        const delayMs = Math.round(random() * (k === 0 ? 1500 : 4000));
        await sleep(delayMs);
        const phase = operator.log.some((l) => l.includes('operator ready')) ? 'reconciling' : 'starting';
        await operator.kill('SIGKILL');
        kills.push({ op: op.what, delayMs, phase });
        operator = f.spawn();
      }
      try {
        convergenceMs.push(await model.converge(`"${op.what}"`));
      } catch (error) {
        throw new Error(
          `${(error as Error).message}\nseed ${seed}; operator log:\n${operator.log.slice(-30).join('\n')}`,
          { cause: error },
        );
      }
    }
    await sleep(1000);

    const duplicates = recorder.duplicates();
    const repeated: string[] = [];
    for (const node of model.labels.keys()) {
      for (const name of model.everCreated) {
        const seq = recorder.transitions(node, `${f.namespace}/${name}`);
        if (new Set(seq).size !== seq.length) repeated.push(`${node} ${name}: ${seq.join(' → ')}`);
      }
    }
    const published = [...recorder.byNode.values()].reduce((n, docs) => n + docs.length, 0);
    const figures = {
      seed,
      kills: kills.length,
      killedWhileStarting: kills.filter((k) => k.phase === 'starting').length,
      killedWhileReconciling: kills.filter((k) => k.phase === 'reconciling').length,
      convergenceP50Ms: percentile(convergenceMs, 50),
      convergenceMaxMs: Math.max(...convergenceMs),
      documentsPublished: published,
      duplicates: duplicates.length,
      repeatedSteps: repeated.length,
    };
    console.error(`[operator-kill] ${JSON.stringify(figures)}`);
    assert.deepEqual(duplicates, [], `documents published twice in a row (seed ${seed})`);
    assert.deepEqual(repeated, [], `a device went through a revision twice (seed ${seed})`);
  });
});
