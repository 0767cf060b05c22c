// SPDX-License-Identifier: Apache-2.0
// API writes that grow with functions, not devices, and none at rest (issue 18, ADR 0023): the
// pure pieces that decide what a device report changes, what the EdgeNode summary holds, when a
// function's status must be written at once, and which devices went quiet.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { FunctionStatusReport, NodeStatus, WasmFunctionStatus } from '@wasmfleet/api';
import { InFlight } from '../../src/bridge/in-flight.ts';
import { significantChange } from '../../src/controllers/function-status.ts';
import { edgeNodeStatus } from '../../src/controllers/node-status.ts';
import { Liveness } from '../../src/fleet/liveness.ts';
import { reportChanges } from '../../src/fleet/report-changes.ts';
import { jsonEqual } from '../../src/kube/index.ts';

const T0 = Date.parse('2026-12-01T00:00:00Z');
const fn = (name: string, extra: Partial<FunctionStatusReport> = {}): FunctionStatusReport => ({
  namespace: 'ns',
  name,
  revision: 'r1',
  phase: 'Running',
  since: new Date(T0).toISOString(),
  restarts: 0,
  invocations: 0,
  errors: 0,
  malformed: 0,
  ...extra,
});
const report = (
  at: number,
  functions: FunctionStatusReport[] = [fn('f')],
  extra: Partial<NodeStatus> = {},
): NodeStatus => ({
  version: 1,
  node: 'dev-1',
  state: 'online',
  agentVersion: '0.3.0',
  heartbeatAt: new Date(at).toISOString(),
  heartbeatIntervalSeconds: 30,
  sensors: [
    { name: 'temperature', topic: 'sensors/dev-1/temperature', lastSeen: new Date(at).toISOString() },
  ],
  capacity: { maxFunctions: 16, memoryBytes: 256 * 1024 * 1024, runtimes: ['core'] },
  functions,
  ...extra,
});

describe('what a device report changes', () => {
  it('a heartbeat changes nothing, whatever its time, counters and sensor readings', () => {
    fc.assert(
      fc.property(fc.nat(10_000_000), fc.nat(1_000_000), fc.nat(1_000), (dt, calls, errors) => {
        const next = report(T0 + dt, [
          fn('f', { invocations: calls, errors: Math.min(errors, calls), latencyP99Us: 12 }),
        ]);
        assert.deepEqual(reportChanges(report(T0), next), { node: false, functions: [] });
        // …and the EdgeNode summary built from it is the same object: nothing to write.
        const before = edgeNodeStatus({
          report: report(T0),
          previous: undefined,
          now: T0,
          missedHeartbeats: 3,
        });
        const after = edgeNodeStatus({
          report: next,
          previous: before,
          now: T0 + Math.min(dt, 89_000),
          missedHeartbeats: 3,
        });
        assert.ok(jsonEqual(before, after), JSON.stringify({ before, after }));
      }),
    );
  });

  it('a new revision, phase or failing health names the function; a state change names the device and all its functions', () => {
    assert.deepEqual(reportChanges(report(T0), report(T0, [fn('f', { revision: 'r2' })])).functions, [
      'ns/f',
    ]);
    assert.deepEqual(
      reportChanges(report(T0), report(T0, [fn('f', { phase: 'CrashLoopBackOff', reason: 'Trap' })]))
        .functions,
      ['ns/f'],
    );
    const failing = fn('f', { recentCalls: 7, recentErrors: 7, lastError: 'Trap: x' });
    assert.deepEqual(reportChanges(report(T0), report(T0, [failing])), { node: true, functions: ['ns/f'] });
    assert.deepEqual(reportChanges(report(T0), report(T0, [fn('f'), fn('g')])).functions, ['ns/g']);
    const gone = reportChanges(report(T0), { version: 1, node: 'dev-1', state: 'offline' });
    assert.deepEqual(gone, { node: true, functions: ['ns/f'] });
    assert.equal(reportChanges(report(T0), report(T0, undefined, { agentVersion: '0.4.0' })).node, true);
  });

  it('a function starting healthy wakes the function, not the device; failing, leaving or a new revision wakes both', () => {
    // In a fleet-wide apply every device reports the new function: one EdgeNode reconcile each,
    // writing nothing, was a tenth of the operator's work (issue 18).
    assert.deepEqual(reportChanges(report(T0, []), report(T0, [fn('f', { phase: 'Starting' })])), {
      node: false,
      functions: ['ns/f'],
    });
    assert.deepEqual(reportChanges(report(T0, [fn('f', { phase: 'Starting' })]), report(T0)), {
      node: false,
      functions: ['ns/f'],
    });
    // The old revision left: device identities take back what only it was granted.
    assert.deepEqual(reportChanges(report(T0), report(T0, [fn('f', { revision: 'r2' })])), {
      node: true,
      functions: ['ns/f'],
    });
    const trap = fn('f', { phase: 'CrashLoopBackOff', reason: 'Trap' });
    assert.equal(reportChanges(report(T0), report(T0, [trap])).node, true, 'starts failing');
    assert.equal(reportChanges(report(T0, [trap]), report(T0)).node, true, 'recovers');
    assert.deepEqual(reportChanges(report(T0, [fn('f'), fn('g')]), report(T0)), {
      node: true,
      functions: ['ns/g'],
    });
    // What the EdgeNode shows agrees: no write for the healthy update.
    const shown = (r: NodeStatus) =>
      edgeNodeStatus({ report: r, previous: undefined, now: T0, missedHeartbeats: 3 });
    assert.ok(jsonEqual(shown(report(T0)), shown(report(T0, [fn('f', { revision: 'r2' })]))));
  });

  it('a heartbeat that changes what the EdgeNode summary shows is node news; reordered functions are not', () => {
    // The heartbeat path compares field by field (issue 18); it must see what the summary copies.
    const at = (extra: Partial<NodeStatus>) =>
      reportChanges(report(T0), report(T0 + 30_000, undefined, extra));
    assert.deepEqual(
      at({ capacity: { maxFunctions: 8, memoryBytes: 256 * 1024 * 1024, runtimes: ['core'] } }),
      {
        node: true,
        functions: [],
      },
    );
    assert.equal(at({ sensors: [{ name: 'temperature', topic: 'sensors/dev-1/t2' }] }).node, true);
    assert.equal(
      at({ agentUpgrade: { supported: true, phase: 'Failed', version: '0.4.0', reason: 'x' } }).node,
      true,
    );
    assert.equal(at({ heartbeatIntervalSeconds: 10 }).node, true);
    assert.deepEqual(at({}), { node: false, functions: [] });
    const two = report(T0, [fn('f'), fn('g')]);
    assert.deepEqual(reportChanges(two, report(T0 + 30_000, [fn('g'), fn('f')])), {
      node: false,
      functions: [],
    });
  });
});

describe('the EdgeNode summary', () => {
  it('counts and lists the failing functions (capped at 10), without heartbeat times, per-function counters or a function count', () => {
    const functions = [
      fn('ok'),
      ...Array.from({ length: 12 }, (_, i) =>
        fn(`bad-${String(i).padStart(2, '0')}`, { phase: 'CrashLoopBackOff', reason: 'Trap' }),
      ),
    ];
    const status = edgeNodeStatus({
      report: report(T0, functions),
      previous: { lastHeartbeat: '2026-01-01T00:00:00Z', functions: [], functionCount: 3 },
      now: T0,
      missedHeartbeats: 3,
    });
    assert.equal(status.phase, 'Online');
    assert.deepEqual([status.failingCount, status.failing?.length], [12, 10]);
    assert.equal(status.functionCount, undefined, 'it changed on every device a function was placed on');
    assert.deepEqual(status.failing?.[0], {
      namespace: 'ns',
      name: 'bad-00',
      phase: 'CrashLoopBackOff',
      reason: 'Trap',
    });
    assert.equal(status.lastHeartbeat, undefined, 'written before ADR 0023, removed now');
    assert.equal(status.functions, undefined);
    assert.deepEqual(status.sensors, [{ name: 'temperature', topic: 'sensors/dev-1/temperature' }]);
  });

  it('goes Offline by last will at once, and by missed heartbeats only after three intervals', () => {
    const online = edgeNodeStatus({ report: report(T0), previous: undefined, now: T0, missedHeartbeats: 3 });
    const late = edgeNodeStatus({
      report: report(T0),
      previous: online,
      now: T0 + 89_999,
      missedHeartbeats: 3,
    });
    assert.equal(late.phase, 'Online');
    const stale = edgeNodeStatus({
      report: report(T0),
      previous: online,
      now: T0 + 90_000,
      missedHeartbeats: 3,
    });
    assert.equal(stale.phase, 'Offline');
    const will = edgeNodeStatus({
      report: { version: 1, node: 'dev-1', state: 'offline' },
      previous: online,
      now: T0,
      missedHeartbeats: 3,
    });
    assert.deepEqual(
      [will.phase, will.sensorSummary],
      ['Offline', 'temperature'],
      'the last will keeps the summary',
    );
  });
});

describe('liveness sweep', () => {
  it('reports a device whose heartbeats stopped once, and its return once', () => {
    const live = new Liveness(3);
    const reports = new Map([['dev-1', report(T0)]]);
    assert.deepEqual(live.sweep(reports, T0 + 89_000), []);
    assert.deepEqual(live.sweep(reports, T0 + 90_000), ['dev-1']);
    assert.deepEqual(live.sweep(reports, T0 + 200_000), [], 'once');
    const fresh = report(T0 + 200_000);
    assert.equal(live.observe('dev-1', report(T0), fresh, T0 + 200_000), true, 'back');
    assert.equal(live.observe('dev-1', fresh, fresh, T0 + 200_000), false);
  });

  it('heartbeats on time change nothing; a last will does (and reportChanges says so too)', () => {
    const live = new Liveness(3);
    assert.equal(live.observe('dev-1', report(T0), report(T0 + 30_000), T0 + 30_500), false);
    const will: NodeStatus = { version: 1, node: 'dev-1', state: 'offline' };
    assert.equal(live.observe('dev-1', report(T0 + 30_000), will, T0 + 31_000), true);
  });

  it('a heartbeat that arrives already overdue does not bring a device back; the next fresh one does', () => {
    // A cut link holds heartbeats back and delivers them late when it heals (link-flap fault test).
    const live = new Liveness(3);
    assert.deepEqual(live.sweep(new Map([['dev-1', report(T0)]]), T0 + 90_000), ['dev-1']);
    const late = report(T0 + 10_000); // sent during the outage, 100 s before it arrived
    assert.equal(live.observe('dev-1', report(T0), late, T0 + 110_000), false, 'held back, still overdue');
    assert.deepEqual(live.sweep(new Map([['dev-1', late]]), T0 + 110_000), [], 'not given up on twice');
    assert.equal(live.observe('dev-1', late, report(T0 + 110_000), T0 + 110_000), true, 'fresh: back');
  });

  it('a fresh heartbeat after a late one counts even before the sweep gave the device up', () => {
    // The late report changed a function, so its device's reconcile ran (and wrote Offline)
    // before any sweep: the fresh heartbeat behind it must still reach the EdgeNode.
    const live = new Liveness(3);
    const late = report(T0 + 10_000);
    assert.equal(live.observe('dev-1', report(T0), late, T0 + 110_000), false);
    assert.equal(live.observe('dev-1', late, report(T0 + 110_000), T0 + 110_500), true);
  });
});

describe('function status writes', () => {
  const base: WasmFunctionStatus = {
    phase: 'Progressing',
    observedGeneration: 2,
    updateRevision: 'r2',
    currentRevision: 'r1',
    readyNodes: 10,
    ready: '10/100',
    conditions: [
      {
        type: 'Ready',
        status: 'False',
        reason: 'NotAllDevicesReady',
        message: '10/100',
        lastTransitionTime: 't',
      },
    ],
    rollout: { revision: 'r2', phase: 'Progressing', step: 0, percent: 10, message: '10/100 updated' },
  };
  it('counts and messages are not urgent; a phase, condition, revision or rollout step is', () => {
    const counted = {
      ...base,
      readyNodes: 50,
      ready: '50/100',
      rollout: { ...base.rollout, percent: 50, message: '50/100 updated' },
    };
    assert.equal(significantChange(base, counted), false);
    assert.equal(significantChange(base, { ...base, phase: 'Ready' }), true);
    assert.equal(significantChange(base, { ...base, rollout: { ...base.rollout, step: 1 } }), true);
    assert.equal(significantChange(base, { ...base, currentRevision: 'r2' }), true);
    const [ready] = base.conditions ?? [];
    assert.ok(ready);
    assert.equal(
      significantChange(base, {
        ...base,
        conditions: [{ ...ready, status: 'True', reason: 'AllDevicesReady' }],
      }),
      true,
    );
  });
});

describe('publishes in flight', () => {
  it('never has more than the bound waiting for a PUBACK, and runs them all', async () => {
    const bound = new InFlight(3);
    let active = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 20 }, () =>
        bound.run(async () => {
          peak = Math.max(peak, ++active);
          await new Promise((resolve) => setTimeout(resolve, 1));
          active--;
        }),
      ),
    );
    assert.deepEqual([peak, active], [3, 0]);
  });
});
