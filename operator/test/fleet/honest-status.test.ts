// SPDX-License-Identifier: Apache-2.0
// A function's status never contradicts itself (issue 15): the aggregate of device reports, the
// conditions built from it, and the rollout core's decisions, checked together on random fleets
// whose devices fail in every way a device can (Failed, CrashLoopBackOff, calls failing while
// running), recover or not, on first deployments and rollouts alike.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { FunctionStatusReport, WasmFunction, WasmFunctionStatus } from '@wasmfleet/api';
import { functionStatus } from '../../src/controllers/function-status.ts';
import { statusFromDecision } from '../../src/controllers/rollout-plan.ts';
import { aggregateFunctionStatus, type NodeView } from '../../src/fleet/status-aggregate.ts';
import {
  decideRollout,
  type DeviceReport,
  type RolloutInput,
  type TargetDevice,
} from '../../src/rollout/index.ts';
import { canary, failed, fleet, input, NEW, OLD, rolling, running, T0 } from '../rollout/fixtures.ts';
import { statusContradictions } from './status-contradictions.ts';

const wire = (r: DeviceReport): FunctionStatusReport => ({
  namespace: 'ns',
  name: 'f',
  revision: r.revision,
  phase: r.phase as FunctionStatusReport['phase'],
  ...(r.reason ? { reason: r.reason } : {}),
  ...(r.lastError ? { lastError: r.lastError } : {}),
  since: new Date(T0).toISOString(),
  restarts: 0,
  invocations: r.invocations,
  errors: r.errors,
  malformed: 0,
  ...(r.recentCalls !== undefined ? { recentCalls: r.recentCalls, recentErrors: r.recentErrors ?? 0 } : {}),
});

type Behaviour = 'ok' | 'failed' | 'crashLoop' | 'callsFailing' | 'starting';

const onUpdate = (b: Behaviour): DeviceReport => {
  switch (b) {
    case 'ok':
      return running(NEW, 30, 1);
    case 'failed':
      return failed(NEW, 'MissingImport');
    case 'crashLoop':
      return failed(NEW, 'Trap', 'CrashLoopBackOff');
    case 'callsFailing':
      return { ...running(NEW, 7, 7), recentCalls: 7, recentErrors: 7, lastError: 'Trap: unreachable' };
    case 'starting':
      return { revision: NEW, phase: 'Starting', invocations: 0, errors: 0 };
  }
};

const fn = (status: WasmFunctionStatus | undefined): WasmFunction => ({
  apiVersion: 'wasmfleet.io/v1alpha1',
  kind: 'WasmFunction',
  metadata: { name: 'f', namespace: 'ns', generation: 1 },
  spec: { module: { url: 'https://example.test/f.wasm', sha256: 'a'.repeat(64) }, inputs: [] },
  ...(status ? { status } : {}),
});

/** What the reconciler does with one decision: the status it writes. */
function statusOf(current: RolloutInput, previous: WasmFunctionStatus | undefined): WasmFunctionStatus {
  const decision = decideRollout(current);
  const nodes = new Map<string, NodeView>(
    current.targets.map((t) => [t.name, { online: t.online, report: t.report ? wire(t.report) : undefined }]),
  );
  return functionStatus({
    fn: fn(previous),
    now: new Date(current.now),
    module: { ok: true, sha256: 'a'.repeat(64), size: 8 },
    config: { ok: true },
    scheduled: { nodes: current.targets.length, desired: current.targets.length },
    updateRevision: NEW,
    aggregate: aggregateFunctionStatus({
      updateRevision: NEW,
      targets: current.targets.map((t) => t.name),
      nodes,
      maxListed: 50,
    }),
    rollout: {
      status: statusFromDecision(decision, false),
      complete: decision.complete,
      currentRevision: current.currentRevision,
      failureReason: decision.phase === 'RolledBack' ? 'RolledBack' : undefined,
    },
  });
}

describe('honest function status', () => {
  it('a running device whose recent calls mostly fail is failing, not ready; its row keeps its phase', () => {
    const report = wire({
      ...running(NEW, 7, 7),
      recentCalls: 7,
      recentErrors: 7,
      lastError: 'Trap: unreachable',
    });
    const agg = aggregateFunctionStatus({
      updateRevision: NEW,
      targets: ['a', 'b'],
      nodes: new Map([
        ['a', { online: true, report }],
        ['b', { online: true, report: wire(failed(NEW, 'Trap', 'CrashLoopBackOff')) }],
      ]),
      maxListed: 10,
    });
    assert.deepEqual(
      [agg.readyNodes, agg.failedNodes, agg.callsFailingNodes, agg.phase],
      [0, 2, 1, 'Degraded'],
    );
    assert.deepEqual(
      agg.nodes.map((n) => [n.node, n.phase, n.reason, n.message]),
      [
        ['a', 'Running', 'CallsFailing', '7 of the last 7 calls failed; last: Trap: unreachable'],
        ['b', 'CrashLoopBackOff', 'Trap', 'CrashLoopBackOff'],
      ],
    );
    assert.equal(
      agg.failureSummary,
      'calls failing on 1 device, CrashLoopBackOff (Trap) on 1 device; a: 7 of the last 7 calls failed; last: Trap: unreachable',
    );
  });

  it('never contradicts itself over the rollout core’s own decisions, whatever the devices do', () => {
    const behaviour = fc.constantFrom<Behaviour>('ok', 'failed', 'crashLoop', 'callsFailing', 'starting');
    fc.assert(
      fc.property(
        fc.array(behaviour, { minLength: 1, maxLength: 6 }),
        fc.boolean(),
        fc.boolean(),
        fc.integer({ min: 0, max: 5 }),
        (devices, firstDeployment, canaryStrategy, recoverAt) => {
          const settings = canaryStrategy
            ? canary([{ percent: 50 }, { percent: 100 }])
            : rolling({ count: 1 });
          let current: RolloutInput = input(settings, fleet(devices.length), {
            currentRevision: firstDeployment ? undefined : OLD,
          });
          let status: WasmFunctionStatus | undefined;
          for (let tick = 0; tick < 8; tick++) {
            status = statusOf(current, status);
            assert.deepEqual(statusContradictions(status), [], JSON.stringify({ tick, status }, null, 1));
            const decision = decideRollout(current);
            const targets: TargetDevice[] = current.targets.map((t, i) => {
              const assigned = decision.assignments.get(t.name);
              const b = tick >= recoverAt ? 'ok' : (devices[i] ?? 'ok');
              return { ...t, assigned, report: assigned === NEW ? onUpdate(b) : running(assigned ?? OLD) };
            });
            current = {
              ...current,
              targets,
              progress: decision.progress,
              now: current.now + 1000,
              currentRevision: status.currentRevision,
            };
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
