// SPDX-License-Identifier: Apache-2.0
// `wasmfleet rollout …` against a real API server. No operator runs here: the test writes the
// status and ControllerRevisions the operator would (kubectl patch --subresource=status, kubectl
// apply), then checks what the CLI prints, what it exits with and what it writes back.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { before, describe, it } from 'node:test';
import type { ControlPlane } from '@wasmfleet/test-support';
import { cli, namespaceFor, sharedControlPlane } from './helpers.ts';

const NOW = '2025-01-01T00:00:00Z';

function spec(threshold: string) {
  return {
    module: { configMap: { name: 'temp-alert-wasm', key: 'module.wasm' } },
    inputs: [{ topic: 'sensors/{node}/temperature', qos: 1, format: 'senml' }],
    outputs: [{ topic: 'alerts/{node}/temperature', qos: 1 }],
    config: { THRESHOLD: threshold },
    rollout: {
      strategy: 'Canary',
      steps: [
        { percent: 20, pause: '30s' },
        { percent: 60, gate: 'Manual' },
      ],
    },
  };
}

const cond = (type: string, status: string, reason: string, message: string) => ({
  type,
  status,
  reason,
  message,
  lastTransitionTime: NOW,
});

describe('wasmfleet rollout against a real API server', () => {
  let plane: ControlPlane;
  let ns: string;
  const run = (args: readonly string[], env?: NodeJS.ProcessEnv) =>
    cli([...args, '-n', ns], plane.kubeconfigPath, env);

  async function createFunction(name: string, threshold = '30'): Promise<void> {
    const manifest = {
      apiVersion: 'wasmfleet.io/v1alpha1',
      kind: 'WasmFunction',
      metadata: { name, namespace: ns },
      spec: spec(threshold),
    };
    const r = await plane.kubectl(['apply', '-f', '-'], { stdin: JSON.stringify(manifest) });
    assert.equal(r.code, 0, r.stderr);
  }

  async function setStatus(name: string, status: Record<string, unknown>): Promise<void> {
    const generation = (
      await plane.kubectl(['get', 'wfn', name, '-n', ns, '-o', 'jsonpath={.metadata.generation}'])
    ).stdout;
    const patch = JSON.stringify({ status: { observedGeneration: Number(generation), ...status } });
    const r = await plane.kubectl([
      'patch',
      'wfn',
      name,
      '-n',
      ns,
      '--subresource=status',
      '--type=merge',
      '-p',
      patch,
    ]);
    assert.equal(r.code, 0, r.stderr);
  }

  const jsonpath = async (name: string, expr: string) =>
    (await plane.kubectl(['get', 'wfn', name, '-n', ns, '-o', `jsonpath=${expr}`])).stdout;

  const progressing = {
    phase: 'Progressing',
    updateRevision: 'h2',
    currentRevision: 'h1',
    desiredNodes: 5,
    updatedNodes: 1,
    readyNodes: 1,
    failedNodes: 0,
    rollout: { step: 0, percent: 20, stepStartedAt: NOW, errorRate: 0 },
    conditions: [cond('Progressing', 'True', 'NewRevision', 'rolling out h2')],
    nodes: [
      { node: 'pump-1', phase: 'Running', revision: 'h2' },
      { node: 'pump-2', phase: 'Running', revision: 'h1' },
      { node: 'pump-3', phase: 'Starting', revision: 'h1' },
      { node: 'pump-4', phase: 'Failed', revision: 'h1', message: 'trap: unreachable' },
    ],
  };

  before(async () => {
    plane = await sharedControlPlane();
    ns = await namespaceFor(plane, 'cli-rollout');
    await createFunction('temp-alert');
    await setStatus('temp-alert', progressing);
  });

  it('status: prints revisions, a bar per step, devices by phase and exits 0 while progressing', async () => {
    const r = await run(['rollout', 'status', 'temp-alert']);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /Revisions:\s+update h2, current h1/);
    assert.match(r.stdout, /▶\s+1\s+20%\s+\[#+\]\s+1\/1\s+\(pause 30s\)/);
    assert.match(r.stdout, /2\s+60%\s+\[#+-+\]\s+1\/3\s+\(manual gate\)/);
    assert.match(r.stdout, /3\s+100%\s+\[#+-+\]\s+1\/5/);
    assert.match(r.stdout, /Failed\s+1\s+pump-4/);
    assert.match(r.stdout, /Running\s+2\s+pump-1, pump-2/);
    assert.match(r.stdout, /! pump-4: trap: unreachable/);
    assert.match(r.stdout, /Waiting for rollout "temp-alert" to finish: 1 of 5 devices updated/);
    assert.ok(!r.stdout.includes('\x1b['), 'NO_COLOR=1: no escape codes');
  });

  it('status -o json: a report for scripts', async () => {
    const r = await run(['rollout', 'status', 'temp-alert', '-o', 'json']);
    assert.equal(r.exitCode, 0, r.stderr);
    const report = JSON.parse(r.stdout) as {
      state: string;
      counts: { desired: number };
      steps: { target: number }[];
      devicesByPhase: Record<string, string[]>;
    };
    assert.equal(report.state, 'Progressing');
    assert.equal(report.counts.desired, 5);
    assert.deepEqual(
      report.steps.map((s) => s.target),
      [1, 3, 5],
    );
    assert.deepEqual(report.devicesByPhase.Failed, ['pump-4']);
  });

  it('status --watch: one line per change on a pipe, exit 0 when the rollout completes', async () => {
    await createFunction('watch-ok');
    await setStatus('watch-ok', progressing);
    const watching = run([
      'rollout',
      'status',
      'watch-ok',
      '--watch',
      '--timeout',
      '60s',
      '--interval',
      '100ms',
    ]);
    await sleep(2_000);
    await setStatus('watch-ok', {
      ...progressing,
      updatedNodes: 3,
      readyNodes: 2,
      rollout: { step: 1, percent: 60 },
    });
    await sleep(1_000);
    await setStatus('watch-ok', {
      ...progressing,
      phase: 'Ready',
      currentRevision: 'h2',
      updatedNodes: 5,
      readyNodes: 5,
      rollout: { step: 2, percent: 100 },
      nodes: [],
    });
    const r = await watching;
    assert.equal(r.exitCode, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.at(-1), 'wasmfunction "watch-ok" successfully rolled out (5/5 devices ready)');
    assert.ok(lines.length >= 2, r.stdout);
    for (let i = 1; i < lines.length; i++) assert.notEqual(lines[i], lines[i - 1], 'a line per change only');
    assert.ok(!r.stdout.includes('\x1b['), 'no redraw escape codes off a terminal');
  });

  it('status --watch: exits 1 when the progress deadline passes, saying how to go back', async () => {
    await createFunction('watch-fail');
    await setStatus('watch-fail', {
      ...progressing,
      phase: 'Degraded',
      conditions: [
        cond('Progressing', 'False', 'ProgressDeadlineExceeded', 'step 1 did not become healthy within 600s'),
      ],
    });
    const r = await run(['rollout', 'status', 'watch-fail', '--watch']);
    assert.equal(r.exitCode, 1);
    assert.match(
      r.stderr,
      /error: rollout of "watch-fail" failed: its progress deadline passed: step 1 did not become healthy/,
    );
    assert.match(r.stderr, /hint: .*wasmfleet rollout undo watch-fail -n /);
  });

  it('status --watch --timeout: exits 1 when the rollout does not finish in time', async () => {
    const r = await run(['rollout', 'status', 'temp-alert', '--watch', '--timeout', '1s']);
    assert.equal(r.exitCode, 1);
    assert.match(r.stderr, /timed out after 1s waiting for the rollout of "temp-alert"/);
    const bad = await run(['rollout', 'status', 'temp-alert', '--watch', '--timeout', 'soon']);
    assert.match(bad.stderr, /--timeout "soon" is not a duration[\s\S]*hint: .*5m/);
  });

  it('pause and resume set spec.paused, and refuse what would change nothing', async () => {
    assert.match((await run(['rollout', 'pause', 'temp-alert'])).stdout, /temp-alert paused/);
    assert.equal(await jsonpath('temp-alert', '{.spec.paused}'), 'true');
    const again = await run(['rollout', 'pause', 'temp-alert']);
    assert.equal(again.exitCode, 1);
    assert.match(again.stderr, /already paused[\s\S]*hint: .*rollout resume temp-alert/);
    assert.match((await run(['rollout', 'resume', 'temp-alert'])).stdout, /temp-alert resumed/);
    assert.equal(await jsonpath('temp-alert', '{.spec.paused}'), 'false');
    const notPaused = await run(['rollout', 'resume', 'temp-alert']);
    assert.match(notPaused.stderr, /not paused and not waiting at a manual gate/);
  });

  it('resume at a manual gate records gate-passed for that revision and step', async () => {
    await createFunction('gated');
    await setStatus('gated', { ...progressing, rollout: { step: 1, percent: 60, waitingForGate: true } });
    const r = await run(['rollout', 'resume', 'gated']);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /passed the manual gate of step 2 \(revision h2\)/);
    assert.equal(
      await jsonpath('gated', '{.metadata.annotations.rollout\\.wasmfleet\\.io/gate-passed}'),
      'h2/1',
    );
  });

  it('promote, abort and restart write their annotations', async () => {
    assert.equal((await run(['rollout', 'promote', 'temp-alert'])).exitCode, 0);
    assert.equal((await run(['rollout', 'abort', 'temp-alert'])).exitCode, 0);
    assert.equal((await run(['rollout', 'restart', 'temp-alert'])).exitCode, 0);
    const annotations = JSON.parse(await jsonpath('temp-alert', '{.metadata.annotations}')) as Record<
      string,
      string
    >;
    assert.equal(annotations['rollout.wasmfleet.io/promote'], 'h2');
    assert.equal(annotations['rollout.wasmfleet.io/abort'], 'h2');
    assert.match(annotations['rollout.wasmfleet.io/restartedAt'] ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it('promote explains that a finished rollout has nothing to promote', async () => {
    await createFunction('finished');
    await setStatus('finished', {
      phase: 'Ready',
      updateRevision: 'h1',
      currentRevision: 'h1',
      desiredNodes: 1,
      updatedNodes: 1,
      readyNodes: 1,
    });
    const r = await run(['rollout', 'promote', 'finished']);
    assert.equal(r.exitCode, 1);
    assert.match(r.stderr, /nothing to promote: revision h1 of "finished" is already rolled out/);
  });

  describe('history and undo', () => {
    const revisionsOf = async (name: string, list: { n: number; threshold: string; cause?: string }[]) => {
      const items = list.map((r) => ({
        apiVersion: 'apps/v1',
        kind: 'ControllerRevision',
        metadata: {
          name: `${name}-h${r.n}`,
          namespace: ns,
          labels: { 'wasmfleet.io/function': name },
          ...(r.cause ? { annotations: { 'kubernetes.io/change-cause': r.cause } } : {}),
        },
        revision: r.n,
        data: { revision: `h${r.n}`, spec: spec(r.threshold) },
      }));
      const applied = await plane.kubectl(['apply', '-f', '-'], {
        stdin: JSON.stringify({ apiVersion: 'v1', kind: 'List', items }),
      });
      assert.equal(applied.code, 0, applied.stderr);
    };

    before(async () => {
      await createFunction('hist', '35');
      await setStatus('hist', { ...progressing, updateRevision: 'h3', currentRevision: 'h2' });
      await revisionsOf('hist', [
        { n: 1, threshold: '25' },
        { n: 2, threshold: '30', cause: 'raise threshold' },
        { n: 3, threshold: '35' },
      ]);
      // Another function's revision in the same namespace must not show up.
      await revisionsOf('other', [{ n: 1, threshold: '99' }]);
    });

    it('history lists revisions oldest first with hash, change cause and current/update marks', async () => {
      const r = await run(['rollout', 'history', 'hist']);
      assert.equal(r.exitCode, 0, r.stderr);
      const lines = r.stdout.trim().split('\n');
      assert.match(lines[0] ?? '', /^REVISION\s+HASH\s+CREATED\s+CHANGE-CAUSE$/);
      assert.match(lines[1] ?? '', /^1\s+h1\s+\d+s\s+<none>$/);
      assert.match(lines[2] ?? '', /^2 \(current\)\s+h2\s+\d+s\s+raise threshold$/);
      assert.match(lines[3] ?? '', /^3 \(update\)\s+h3\s/);
      assert.equal(lines.length, 4);
      const json = JSON.parse((await run(['rollout', 'history', 'hist', '-o', 'json'])).stdout) as {
        revision: number;
        spec: { config: { THRESHOLD: string } };
      }[];
      assert.deepEqual(
        json.map((x) => [x.revision, x.spec.config.THRESHOLD]),
        [
          [1, '25'],
          [2, '30'],
          [3, '35'],
        ],
      );
      const one = await run(['rollout', 'history', 'hist', '--revision', '2']);
      assert.match(one.stdout, /Change-cause: raise threshold/);
      assert.match(one.stdout, /THRESHOLD: "30"/);
    });

    it('undo puts the previous revision’s spec back; --to-revision picks one; unknown ones are listed', async () => {
      const r = await run(['rollout', 'undo', 'hist']);
      assert.equal(r.exitCode, 0, r.stderr);
      assert.match(r.stdout, /hist rolled back to revision 2 \(h2\)/);
      assert.equal(await jsonpath('hist', '{.spec.config.THRESHOLD}'), '30');
      const same = await run(['rollout', 'undo', 'hist', '--to-revision', '2']);
      assert.match(same.stdout, /skipped rollback \(the spec already matches revision 2\)/);
      assert.equal((await run(['rollout', 'undo', 'hist', '--to-revision', '1'])).exitCode, 0);
      assert.equal(await jsonpath('hist', '{.spec.config.THRESHOLD}'), '25');
      const unknown = await run(['rollout', 'undo', 'hist', '--to-revision', '9']);
      assert.equal(unknown.exitCode, 1);
      assert.match(unknown.stderr, /revision 9 of "hist" not found[\s\S]*hint: known revisions: 1, 2, 3/);
    });

    it('undo without history, or with no previous revision, says so', async () => {
      const none = await run(['rollout', 'undo', 'temp-alert']);
      assert.equal(none.exitCode, 1);
      assert.match(none.stderr, /"temp-alert" has no revision history/);
      await revisionsOf('gated', [{ n: 1, threshold: '30' }]);
      const single = await run(['rollout', 'undo', 'gated']);
      assert.match(single.stderr, /no previous revision to go back to \(only revision 1\)/);
    });
  });

  it('an unknown function gets a not-found error with a hint', async () => {
    const r = await run(['rollout', 'status', 'nope']);
    assert.equal(r.exitCode, 1);
    assert.match(r.stderr, /wasmfunction "nope" not found in namespace/);
    assert.match(r.stderr, /hint: /);
  });
});
