// SPDX-License-Identifier: Apache-2.0
// The AgentRollout planner on the functions' rollout core: who is a target and who is skipped
// (and why), the canary's first step, a device that rolled the update back failing the rollout
// back to the version the fleet ran, a finished rollout making the new version current, and the
// manual controls `wasmfleet rollout pause|resume|promote|abort agentrollout/…` write (spec.paused,
// annotations naming the version) acting on the devices as they do on a function's rollout.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AgentRollout, EdgeNode } from '@wasmfleet/api';
import { planAgentRollout } from '../../src/agents/agent-rollout-plan.ts';

const NOW = Date.parse('2026-12-06T12:00:00Z');
const SIG = { keyId: 'release', ed25519: `${'A'.repeat(86)}==` };

function node(name: string, status: Partial<NonNullable<EdgeNode['status']>> = {}): EdgeNode {
  return {
    apiVersion: 'wasmfleet.io/v1alpha1',
    kind: 'EdgeNode',
    metadata: { name, labels: { site: 'lab' } },
    status: {
      phase: 'Online',
      agentVersion: '0.3.0',
      arch: 'x64',
      agentUpgrade: { supported: true },
      functions: [{ namespace: 'ns', name: 'f', phase: 'Running', invocations: 10, errors: 0 }],
      ...status,
    },
  };
}

function rollout(
  status?: AgentRollout['status'],
  controls: { readonly paused?: boolean; readonly annotations?: Record<string, string> } = {},
): AgentRollout {
  return {
    apiVersion: 'wasmfleet.io/v1alpha1',
    kind: 'AgentRollout',
    metadata: {
      name: 'fleet',
      generation: 1,
      ...(controls.annotations ? { annotations: controls.annotations } : {}),
    },
    spec: {
      version: '0.3.1',
      artifacts: [{ arch: 'x64', url: 'http://a/x.tar.gz', sha256: 'b'.repeat(64), signature: SIG }],
      nodeSelector: { matchLabels: { site: 'lab' } },
      healthDeadlineSeconds: 30,
      rollout: { strategy: 'Canary', steps: [{ percent: 20, pause: '1m' }] },
      ...(controls.paused !== undefined ? { paused: controls.paused } : {}),
    },
    ...(status ? { status } : {}),
  };
}

const fleet = (): EdgeNode[] => ['a', 'b', 'c', 'd', 'e'].map((n) => node(n));

/** The devices a plan tells to run `version`. */
const on = (plan: ReturnType<typeof planAgentRollout>, version: string): string[] =>
  [...plan.documents.values()].filter((d) => d.agent.version === version).map((d) => d.node);

/** The canary's first plan, and each device's published version, as the operator feeds them back. */
function started(): { first: ReturnType<typeof planAgentRollout>; told: (n: string) => string | undefined } {
  const first = planAgentRollout(rollout(), fleet(), () => undefined, NOW);
  return { first, told: (n) => first.documents.get(n)?.agent.version };
}

describe('planAgentRollout', () => {
  it('skips devices that cannot upgrade or have no artifact, saying why, and starts the canary on one of five', () => {
    const nodes = [
      ...fleet(),
      node('old', { agentUpgrade: undefined, agentVersion: '0.2.0' }),
      node('pi32', { arch: 'arm' }),
    ];
    const plan = planAgentRollout(rollout(), nodes, () => undefined, NOW);
    assert.deepEqual(
      plan.status.skipped?.map((s) => s.node),
      ['old', 'pi32'],
    );
    assert.match(plan.status.skipped[0]?.reason ?? '', /cannot upgrade itself/);
    assert.match(plan.status.skipped[1]?.reason ?? '', /no artifact for its architecture arm/);
    assert.equal(plan.status.currentVersion, '0.3.0');
    const toUpdate = [...plan.documents.values()].filter((d) => d.agent.version === '0.3.1');
    assert.equal(toUpdate.length, 1);
    assert.equal(toUpdate[0]?.agent.artifact?.sha256, 'b'.repeat(64));
    assert.equal(toUpdate[0].agent.deadlineSeconds, 30);
    assert.ok(
      [...plan.documents.values()].filter((d) => d.agent.version === '0.3.0').every((d) => !d.agent.artifact),
    );
  });

  it('rolls every device back when the canary device reports it rolled the update back', () => {
    const first = planAgentRollout(rollout(), fleet(), () => undefined, NOW);
    const canary = [...first.documents.values()].find((d) => d.agent.version === '0.3.1')?.node ?? '';
    const nodes = fleet().map((n) =>
      n.metadata.name === canary
        ? node(canary, {
            agentUpgrade: { supported: true, version: '0.3.1', phase: 'RolledBack', reason: 'NotHealthy' },
          })
        : n,
    );
    const told = (n: string): string | undefined => first.documents.get(n)?.agent.version;
    const plan = planAgentRollout(rollout(first.status), nodes, told, NOW + 5_000);
    assert.equal(plan.decision.phase, 'RolledBack');
    assert.equal(plan.status.rollout?.failedRevision, '0.3.1');
    assert.ok([...plan.documents.values()].every((d) => d.agent.version === '0.3.0'));
  });

  it('makes the update current with its artifacts once every device runs it, step by step', () => {
    const nodes = fleet().map((n) => node(n.metadata.name ?? '', { agentVersion: '0.3.1' }));
    let status: AgentRollout['status'] = { currentVersion: '0.3.0' };
    let plan = planAgentRollout(rollout(status), nodes, () => '0.3.1', NOW);
    // The canary pauses a minute on its first step (fed back its own status, as the operator does).
    for (let i = 1; i < 5 && !plan.decision.complete; i++) {
      status = plan.status;
      plan = planAgentRollout(rollout(status), nodes, () => '0.3.1', NOW + i * 61_000);
    }
    assert.equal(plan.decision.complete, true);
    assert.equal(plan.status.currentVersion, '0.3.1');
    assert.equal(plan.status.currentArtifacts?.[0]?.arch, 'x64');
    assert.equal(plan.status.updated, 5);
  });

  it('holds the canary on its device while paused, past its step pause, and moves on when resumed', () => {
    const { first, told } = started();
    const later = NOW + 10 * 60_000;
    const paused = planAgentRollout(rollout(first.status, { paused: true }), fleet(), told, later);
    assert.equal(paused.decision.phase, 'Paused');
    assert.deepEqual(on(paused, '0.3.1'), on(first, '0.3.1'));
    assert.equal(on(paused, '0.3.1').length, 1);
    // The canary device runs the update healthily; resumed, the rollout takes the rest.
    const canary = on(first, '0.3.1')[0] ?? '';
    const nodes = fleet().map((n) =>
      n.metadata.name === canary ? node(canary, { agentVersion: '0.3.1' }) : n,
    );
    let plan = planAgentRollout(rollout(paused.status, { paused: false }), nodes, told, later + 1_000);
    for (let i = 1; i < 5 && on(plan, '0.3.1').length < 5; i++)
      plan = planAgentRollout(rollout(plan.status), nodes, told, later + i * 61_000);
    assert.equal(on(plan, '0.3.1').length, 5);
  });

  it('sends every device the update at once when promoted, without waiting out the canary pause', () => {
    const { first, told } = started();
    const promoted = planAgentRollout(
      rollout(first.status, { annotations: { 'rollout.wasmfleet.io/promote': '0.3.1' } }),
      fleet(),
      told,
      NOW + 1_000,
    );
    assert.equal(on(promoted, '0.3.1').length, 5);
    // Each with the artifact for its architecture.
    assert.ok([...promoted.documents.values()].every((d) => d.agent.artifact?.sha256 === 'b'.repeat(64)));
  });

  it('sends every device back to the version the fleet ran when aborted, and says so', () => {
    const { first, told } = started();
    const aborted = planAgentRollout(
      rollout(first.status, { annotations: { 'rollout.wasmfleet.io/abort': '0.3.1' } }),
      fleet(),
      told,
      NOW + 1_000,
    );
    assert.equal(aborted.decision.phase, 'Aborted');
    assert.deepEqual(on(aborted, '0.3.1'), []);
    assert.equal(on(aborted, '0.3.0').length, 5);
    assert.equal(aborted.status.rollout?.failedRevision, '0.3.1');
    assert.equal(aborted.status.currentVersion, '0.3.0');
  });

  it('ignores a promote or abort written for another version', () => {
    const { first, told } = started();
    const stale = planAgentRollout(
      rollout(first.status, {
        annotations: { 'rollout.wasmfleet.io/promote': '0.2.9', 'rollout.wasmfleet.io/abort': '0.2.9' },
      }),
      fleet(),
      told,
      NOW + 1_000,
    );
    assert.equal(on(stale, '0.3.1').length, 1);
    assert.notEqual(stale.decision.phase, 'Aborted');
  });
});
