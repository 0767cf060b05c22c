// SPDX-License-Identifier: Apache-2.0
// Aggregating device reports into a function's status. Found by the soak (test/soak): after a
// trapping canary was rolled back, every device ran the stable revision, yet the function said
// READY 0/3, because only devices on the (failed) update revision counted as ready.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { FunctionStatusReport } from '@wasmfleet/api';
import { aggregateFunctionStatus, type NodeView } from '../../src/fleet/status-aggregate.ts';

const report = (revision: string, phase: FunctionStatusReport['phase']): NodeView => ({
  online: true,
  report: {
    namespace: 'ns',
    name: 'f',
    revision,
    phase,
    since: new Date(0).toISOString(),
    restarts: 0,
    invocations: 10,
    errors: 0,
    malformed: 0,
  },
});

const aggregate = (updateRevision: string, nodes: Record<string, NodeView>) =>
  aggregateFunctionStatus({
    updateRevision,
    targets: Object.keys(nodes),
    nodes: new Map(Object.entries(nodes)),
    maxListed: 100,
  });

describe('function status aggregate', () => {
  it('rolled back to the stable revision: every device running it counts as ready (was 0/3)', () => {
    const agg = aggregate('bad', {
      a: report('stable', 'Running'),
      b: report('stable', 'Running'),
      c: report('stable', 'Running'),
    });
    assert.equal(agg.readyNodes, 3);
    assert.equal(agg.updatedNodes, 0);
    assert.notEqual(agg.phase, 'Ready', 'not Ready: no device runs the update revision');
  });

  it('mid-rollout: ready counts every running device, Ready waits for all on the update revision', () => {
    const mid = aggregate('v2', {
      a: report('v2', 'Running'),
      b: report('v1', 'Running'),
      c: report('v2', 'Starting'),
    });
    assert.deepEqual([mid.readyNodes, mid.updatedNodes, mid.phase], [2, 2, 'Progressing']);
    const done = aggregate('v2', { a: report('v2', 'Running'), b: report('v2', 'Running') });
    assert.deepEqual([done.readyNodes, done.updatedNodes, done.phase], [2, 2, 'Ready']);
    const failing = aggregate('v2', { a: report('v2', 'CrashLoopBackOff'), b: report('v1', 'Running') });
    assert.deepEqual([failing.readyNodes, failing.failedNodes, failing.phase], [1, 1, 'Degraded']);
  });
});

describe('the devices a function status lists', () => {
  // Only the first maxListed rows are built now (issue 18: a row and a sort per device per
  // reconcile); the list must be the same as sorting every device: failing first, then those not
  // running yet, then the rest, each by name.
  const phases = ['Running', 'Starting', 'CrashLoopBackOff', 'Failed', 'Pending'] as const;
  const rank = (v: NodeView) => {
    const p = v.report?.phase ?? 'Pending';
    return p === 'CrashLoopBackOff' || p === 'Failed' ? 0 : p === 'Running' ? 2 : 1;
  };

  it('are the first maxListed in (failing, not running, running; name) order, whatever the size', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(fc.string({ minLength: 1, maxLength: 4 }), fc.nat(phases.length)), {
          selector: ([name]) => name,
          maxLength: 60,
        }),
        fc.nat(70),
        (devices, maxListed) => {
          const nodes = new Map<string, NodeView>(
            devices.map(([name, p]) => [
              name,
              p === phases.length
                ? { online: false, report: undefined }
                : report('v2', phases[p] ?? 'Running'),
            ]),
          );
          const agg = aggregateFunctionStatus({
            updateRevision: 'v2',
            targets: devices.map(([name]) => name),
            nodes,
            maxListed,
          });
          const expected = [...nodes]
            .sort(([a, va], [b, vb]) => rank(va) - rank(vb) || (a < b ? -1 : 1))
            .map(([name]) => name);
          assert.deepEqual(
            agg.nodes.map((row) => row.node),
            expected.slice(0, maxListed),
          );
          assert.equal(agg.nodesOmitted, devices.length - Math.min(maxListed, devices.length));
          const firstFailing = expected.find(
            (name) => rank(nodes.get(name) ?? { online: true, report: undefined }) === 0,
          );
          if (firstFailing === undefined) assert.equal(agg.failureSummary, undefined);
          else assert.ok(agg.failureSummary?.includes(`; ${firstFailing}: `), agg.failureSummary);
        },
      ),
    );
  });
});
