// SPDX-License-Identifier: Apache-2.0
// The pure parts behind the new commands, without spawning anything: rollout verdicts, step
// bars, undo's choice of revision, invoke's topic plan and payload checks, snippet names.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { WasmFunctionSpec, WasmFunctionStatus } from '@wasmfleet/api';
import type { FunctionObject } from '../src/functions/read.ts';
import { sourceableZsh } from '../src/commands/completion.ts';
import { checkPayload, planInvoke } from '../src/invoke/plan.ts';
import { bar, ASCII_BAR } from '../src/output/bar.ts';
import { renderLine, renderSummary } from '../src/output/rollout-status.ts';
import { gatePassedValue, rfc3339 } from '../src/rollout/annotations.ts';
import { evaluateRollout } from '../src/rollout/evaluate.ts';
import { pickUndoTarget, sameSpec, type Revision } from '../src/rollout/revisions.ts';
import { stepPlan } from '../src/rollout/steps.ts';
import { nameFromFile } from '../src/push/snippet.ts';
import { UserError } from '../src/errors.ts';

const SPEC: WasmFunctionSpec = {
  module: { configMap: { name: 'm', key: 'k' } },
  inputs: [{ topic: 'sensors/{node}/temperature', format: 'senml' }],
  outputs: [{ topic: 'alerts/{node}/temperature' }],
  rollout: {
    strategy: 'Canary',
    steps: [
      { percent: 10, pause: '60s' },
      { percent: 50, gate: 'Manual' },
    ],
  },
};

function fn(
  status: WasmFunctionStatus,
  overrides: { generation?: number; paused?: boolean } = {},
): FunctionObject {
  return {
    apiVersion: 'wasmfleet.io/v1alpha1',
    kind: 'WasmFunction',
    metadata: { name: 'temp-alert', namespace: 'plant-1', generation: overrides.generation ?? 2 },
    spec: { ...SPEC, ...(overrides.paused ? { paused: true } : {}) },
    status,
  };
}

const condition = (type: string, status: 'True' | 'False', reason: string, message = '') => ({
  type,
  status,
  reason,
  message,
  lastTransitionTime: '2025-01-01T00:00:00Z',
});

describe('rollout verdicts (what --watch exits on)', () => {
  it('is complete only when Ready, all counts equal and the generation is observed', () => {
    const done = {
      observedGeneration: 2,
      phase: 'Ready',
      desiredNodes: 5,
      updatedNodes: 5,
      readyNodes: 5,
    } as const;
    assert.equal(evaluateRollout(fn(done)).done, true);
    assert.equal(evaluateRollout(fn({ ...done, readyNodes: 4 })).done, false);
    assert.equal(evaluateRollout(fn({ ...done, updatedNodes: 4 })).done, false);
    const stale = evaluateRollout(fn(done, { generation: 3 }));
    assert.equal(stale.state, 'Observing');
    assert.match(stale.message, /to be observed/);
    assert.equal(
      evaluateRollout(fn({ ...done, desiredNodes: 0, updatedNodes: 0, readyNodes: 0 })).done,
      true,
    );
  });

  it('fails on Degraded/Failed, a passed deadline, a rollback condition or a rolled-back message', () => {
    const base = { observedGeneration: 2, phase: 'Progressing', desiredNodes: 5, updatedNodes: 1 } as const;
    assert.equal(evaluateRollout(fn({ ...base, phase: 'Degraded' })).failed, true);
    assert.equal(evaluateRollout(fn({ ...base, phase: 'Failed' })).failed, true);
    const deadline = evaluateRollout(
      fn({
        ...base,
        conditions: [condition('Progressing', 'False', 'ProgressDeadlineExceeded', 'step 1 took 600s')],
      }),
    );
    assert.equal(deadline.failed, true);
    assert.match(deadline.message, /progress deadline passed: step 1 took 600s/);
    assert.equal(
      evaluateRollout(fn({ ...base, conditions: [condition('Progressing', 'False', 'RolledBack')] })).failed,
      true,
    );
    const message = evaluateRollout(
      fn({ ...base, phase: 'Ready', rollout: { message: 'error rate 0.4 > 0.01: rolled back to abc' } }),
    );
    assert.equal(message.failed, true);
    assert.match(message.message, /rolled back to abc/);
    // A stale condition from an older generation does not fail a newer rollout.
    const stale = { ...condition('Progressing', 'False', 'ProgressDeadlineExceeded'), observedGeneration: 1 };
    assert.equal(evaluateRollout(fn({ ...base, conditions: [stale] })).failed, false);
  });

  it('says when it waits for a pause or a manual gate, and how to continue', () => {
    const base = { observedGeneration: 2, phase: 'Progressing', desiredNodes: 10, updatedNodes: 1 } as const;
    const gate = evaluateRollout(fn({ ...base, rollout: { step: 1, waitingForGate: true } }));
    assert.equal(gate.state, 'WaitingForGate');
    assert.match(gate.message, /step 2 is at a manual gate; run `wasmfleet rollout resume temp-alert`/);
    assert.equal(evaluateRollout(fn(base, { paused: true })).state, 'Paused');
  });
});

describe('step bars', () => {
  it('targets round up so uneven percents still move devices, and the last step is 100%', () => {
    const plan = stepPlan(
      fn({
        observedGeneration: 2,
        phase: 'Progressing',
        desiredNodes: 7,
        updatedNodes: 1,
        rollout: { step: 0 },
      }),
    );
    assert.deepEqual(
      plan.map((s) => [s.percent, s.target, s.updated, s.done, s.current, s.wait]),
      [
        [10, 1, 1, true, true, 'pause 60s'],
        [50, 4, 1, false, false, 'manual gate'],
        [100, 7, 1, false, false, undefined],
      ],
    );
  });

  it('draws bars and a one-line summary for logs', () => {
    assert.equal(bar(1, 4, 8, ASCII_BAR), '[##------]');
    assert.equal(bar(0, 0, 4, ASCII_BAR, true), '[####]');
    const f = fn({
      observedGeneration: 2,
      phase: 'Progressing',
      desiredNodes: 4,
      updatedNodes: 2,
      readyNodes: 1,
      rollout: { step: 1 },
      nodes: [
        { node: 'a', phase: 'Running' },
        { node: 'b', phase: 'Starting' },
      ],
    });
    const line = renderLine(f, evaluateRollout(f));
    assert.equal(
      line,
      'step 2/3 (50%) [####################] 2/4 updated, 1 ready, 0 failed (Starting 1, Running 1)',
    );
    const summary = renderSummary(f, evaluateRollout(f), {
      now: Date.parse('2025-01-01T00:00:00Z'),
      chars: ASCII_BAR,
    });
    assert.match(summary, /▶ {2}2 {3}50% {2}\[#+\] {2}2\/2 +\(manual gate\)/);
    assert.match(summary, /Starting\s+1 {2}b/);
  });
});

describe('undo picks a revision', () => {
  const rev = (number: number, extra: Partial<Revision> = {}): Revision => ({
    number,
    name: `temp-alert-h${number}`,
    hash: `h${number}`,
    created: undefined,
    changeCause: undefined,
    spec: SPEC,
    current: false,
    update: false,
    ...extra,
  });

  it('defaults to the newest revision before the update revision', () => {
    assert.equal(pickUndoTarget([rev(1), rev(2), rev(3, { update: true })], 'f', undefined, '').number, 2);
    assert.equal(pickUndoTarget([rev(1), rev(2, { update: true }), rev(3)], 'f', undefined, '').number, 1);
    assert.equal(pickUndoTarget([rev(4), rev(7)], 'f', undefined, '').number, 4);
  });

  it('explains an unknown revision, no previous one and no history at all', () => {
    assert.throws(
      () => pickUndoTarget([rev(1), rev(2)], 'f', 9, ' -n x'),
      (e: unknown) =>
        e instanceof UserError && /revision 9/.test(e.message) && /known revisions: 1, 2/.test(e.hint ?? ''),
    );
    assert.throws(
      () => pickUndoTarget([rev(1, { update: true })], 'f', undefined, ''),
      /no previous revision/,
    );
    assert.throws(() => pickUndoTarget([], 'f', undefined, ''), /no revision history/);
  });

  it('compares specs regardless of key order and paused', () => {
    const reordered = {
      inputs: SPEC.inputs,
      module: SPEC.module,
      outputs: SPEC.outputs,
      rollout: SPEC.rollout,
      paused: true,
    };
    assert.equal(sameSpec(SPEC, reordered), true);
    assert.equal(sameSpec(SPEC, { ...SPEC, config: { A: '1' } }), false);
  });

  it('writes annotation values in the agreed formats', () => {
    assert.equal(gatePassedValue('abc', 1), 'abc/1');
    assert.equal(rfc3339(new Date('2025-03-04T05:06:07.891Z')), '2025-03-04T05:06:07Z');
  });
});

describe('invoke plans topics and checks payloads', () => {
  it('expands {node} in the first input and every output', () => {
    assert.deepEqual(
      planInvoke({ name: 'f', inputs: SPEC.inputs, outputs: SPEC.outputs ?? [] }, 'pump-7', undefined),
      {
        inputTopic: 'sensors/pump-7/temperature',
        qos: 1,
        outputTopics: ['alerts/pump-7/temperature'],
      },
    );
  });

  it('needs --input-topic for a wildcard input, and it must match an input', () => {
    const wild = { name: 'f', inputs: [{ topic: 'sensors/{node}/+' }], outputs: [{ topic: 'out' }] };
    assert.throws(() => planInvoke(wild, 'n1', undefined), /has wildcards[\s\S]*/);
    assert.equal(planInvoke(wild, 'n1', 'sensors/n1/line-3').inputTopic, 'sensors/n1/line-3');
    assert.throws(() => planInvoke(wild, 'n1', 'other/n1/x'), /matches none of the inputs/);
    assert.throws(() => planInvoke({ ...wild, outputs: [] }, 'n1', undefined), /declares no outputs/);
  });

  it('refuses payloads the agent would drop as malformed', () => {
    assert.throws(() => checkPayload('hot', 'senml'), /takes senml but --payload is not JSON/);
    assert.throws(() => checkPayload('{"v":1}', 'senml'), /JSON array/);
    checkPayload('[{"n":"t","v":1}]', 'senml');
    checkPayload('anything', 'raw');
  });
});

describe('small helpers', () => {
  it('derives a DNS name for the printed function from the file name', () => {
    assert.equal(nameFromFile('/tmp/Temp_Alert.v2.wasm'), 'temp-alert-v2');
    assert.equal(nameFromFile('___.wasm'), 'my-function');
  });

  it('makes the zsh script register itself when sourced', () => {
    const out = sourceableZsh('#compdef wasmfleet\n_wasmfleet() {\n}\n\n_wasmfleet\n', 'wasmfleet');
    assert.ok(out.endsWith('\ncompdef _wasmfleet wasmfleet\n'));
    assert.doesNotMatch(out, /^_wasmfleet$/m);
  });
});
