// SPDX-License-Identifier: Apache-2.0
// The AgentRollout planner on the functions' rollout core: who is a target and who is skipped
// (and why), the canary's first step, a device that rolled the update back failing the rollout
// back to the version the fleet ran, and a finished rollout making the new version current.
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

function rollout(status?: AgentRollout['status']): AgentRollout {
  return {
    apiVersion: 'wasmfleet.io/v1alpha1',
    kind: 'AgentRollout',
    metadata: { name: 'fleet', generation: 1 },
    spec: {
      version: '0.3.1',
      artifacts: [{ arch: 'x64', url: 'http://a/x.tar.gz', sha256: 'b'.repeat(64), signature: SIG }],
      nodeSelector: { matchLabels: { site: 'lab' } },
      healthDeadlineSeconds: 30,
      rollout: { strategy: 'Canary', steps: [{ percent: 20, pause: '1m' }] },
    },
    ...(status ? { status } : {}),
  };
}

const fleet = (): EdgeNode[] => ['a', 'b', 'c', 'd', 'e'].map((n) => node(n));

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
});
