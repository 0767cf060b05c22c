// SPDX-License-Identifier: Apache-2.0
// Regression (issue 15, item 5; docs/adr/0047): the input dispatch kept every read's batch — its
// inputs and their payloads — alive until the next full GC. It emptied its long-lived map of
// batches with Map.clear() after each read, and V8 leaves a cleared map's entries in the table it
// retires, which nothing collects but a full GC. So each scavenge found the recent reads alive and
// promoted them into the old generation (~190 KB a scavenge at 1k msg/s, 5.6 % of what the agent
// allocated; the plain forwarder promotes ~0): slower scavenges, and a full GC every few seconds
// under steady traffic. Here 20,000 single-input reads go through the dispatch with young-only
// collections between them; their inputs must die young.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { InputBackpressure } from '../../src/node/input-backpressure.ts';
import { InputDispatch } from '../../src/node/input-dispatch.ts';
import type { ManagedFunction } from '../../src/node/managed-function.ts';
import { SensorRegistry } from '../../src/node/sensor-registry.ts';
import type { FunctionMessage, InvokeResult } from '../../src/runtime/types.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as (options?: { type: 'major' | 'minor' }) => void;

/** Just what the dispatch reads of a function: a route, limits, metrics, a phase and a runtime. */
function echoFunction(): ManagedFunction {
  const answer: InvokeResult = { ok: true, outputs: [] };
  return {
    routes: [{ filter: 'sensors/+/t', qos: 0, format: 'raw' }],
    spec: { limits: {} },
    metrics: { recordMalformed: () => undefined },
    phase: 'Running',
    invokeBatch: (inputs: readonly FunctionMessage[]) => inputs.map(() => answer),
  } as unknown as ManagedFunction;
}

function oldSpaceUsed(): number {
  return getHeapSpaceStatistics().find((s) => s.space_name === 'old_space')?.space_used_size ?? 0;
}

it("a read's inputs die young once their batch is answered (no promotion through the dispatch)", async () => {
  const fn = echoFunction();
  const backpressure = new InputBackpressure(2048, () => false);
  let answered = 0;
  const dispatch = new InputDispatch({
    functions: () => [{ serving: fn, retiring: [] }],
    idOf: () => undefined,
    sensors: new SensorRegistry(),
    backpressure,
    acks: () => undefined,
    log: () => undefined,
    deliver: (_fn, batch) => {
      answered += batch.inputs.length;
      backpressure.answered(batch.counted);
    },
  });
  // Warm up, then move the dispatch and everything long-lived into the old generation.
  for (let i = 0; i < 100; i++) {
    dispatch.dispatch('sensors/a/t', new Uint8Array(64), -1, undefined, false);
    await Promise.resolve();
  }
  gc({ type: 'major' });
  const before = oldSpaceUsed();
  const READS = 20_000;
  for (let i = 0; i < READS; i++) {
    dispatch.dispatch('sensors/a/t', new Uint8Array(64), -1, undefined, false);
    await Promise.resolve(); // the flush runs as a microtask, as after a socket read
    if (i % 500 === 499) gc({ type: 'minor' });
  }
  gc({ type: 'minor' });
  gc({ type: 'minor' });
  const promoted = oldSpaceUsed() - before;
  assert.equal(answered, READS + 100);
  // Measured: 19 MB when the dispatch kept reads alive, 1.6 MB now — of which the test's own loop
  // (its awaits, without any dispatch) moves 1.1 MB.
  assert.ok(
    promoted < 4 * 1024 * 1024,
    `${(promoted / 1024).toFixed(0)} KB moved into the old generation over ${READS} reads`,
  );
});
