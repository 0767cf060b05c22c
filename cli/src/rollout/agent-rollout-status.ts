// SPDX-License-Identifier: Apache-2.0
// `wasmfleet rollout status agentrollout/<name>`: where an agent rollout stands (docs/adr/0032),
// read from the AgentRollout's status, with the same exit codes as a function's rollout status:
// 0 once complete, 1 once rolled back, aborted or degraded.
import type { KubernetesObjectApi } from '@kubernetes/client-node';
import { AGENT_ROLLOUT_KIND, API_VERSION, type AgentRollout } from '@wasmfleet/api';

const PREFIXES = ['agentrollout/', 'agentrollouts/', 'ar/'];

/** The AgentRollout name in `agentrollout/<name>` (also agentrollouts/ and ar/), else undefined. */
export function agentRolloutName(arg: string): string | undefined {
  const prefix = PREFIXES.find((p) => arg.startsWith(p));
  return prefix ? arg.slice(prefix.length) : undefined;
}

export interface AgentRolloutVerdict {
  readonly done: boolean;
  readonly failed: boolean;
  readonly line: string;
}

export async function readAgentRollout(objects: KubernetesObjectApi, name: string): Promise<AgentRollout> {
  // Custom objects arrive as JSON (string timestamps): the api/ type, not client-node's.
  const object: unknown = await objects.read({
    apiVersion: API_VERSION,
    kind: AGENT_ROLLOUT_KIND,
    metadata: { name },
  });
  return object as AgentRollout;
}

export function agentRolloutVerdict(rollout: AgentRollout): AgentRolloutVerdict {
  const s = rollout.status ?? {};
  const phase = s.rollout?.phase ?? 'Pending';
  const observed = s.observedGeneration === rollout.metadata.generation;
  const skipped = s.skipped?.length
    ? `, ${s.skipped.length} skipped (${s.skipped[0]?.node ?? ''}: ${s.skipped[0]?.reason ?? ''}${s.skipped.length > 1 ? ', …' : ''})`
    : '';
  const line =
    `agentrollout/${rollout.metadata.name ?? ''}: ${phase}, ${s.currentVersion ?? '?'} → ${rollout.spec.version}: ` +
    `${s.updated ?? 0}/${s.targets ?? 0} devices updated${skipped}` +
    (s.rollout?.message ? ` — ${s.rollout.message}` : '');
  return {
    done: observed && phase === 'Complete',
    failed: observed && (phase === 'RolledBack' || phase === 'Aborted' || phase === 'Degraded'),
    line,
  };
}
