// SPDX-License-Identifier: Apache-2.0
// pause / resume / promote / abort for `agentrollout/<name>`: the same controls as a function's
// rollout (spec.paused and annotations naming the version they apply to), on an AgentRollout.
import { PatchStrategy, type KubernetesObject } from '@kubernetes/client-node';
import { AGENT_ROLLOUT_KIND, API_VERSION, type AgentRollout } from '@wasmfleet/api';
import { UserError } from '../errors.ts';
import type { FullKubeContext } from '../kube/context.ts';
import { readAgentRollout } from './agent-rollout-status.ts';

export type AgentRolloutVerb = 'pause' | 'resume' | 'promote' | 'abort';

/** Applies the control; returns the line to print. */
export async function controlAgentRollout(
  kube: FullKubeContext,
  name: string,
  verb: AgentRolloutVerb,
): Promise<string> {
  const rollout = await readAgentRollout(kube.objects, name);
  const version = rollout.spec.version;
  const ref = `agentrollout/${name}`;
  if (verb === 'pause' && rollout.spec.paused)
    throw new UserError(`${ref} is already paused`, {
      hint: `continue it with \`wasmfleet rollout resume ${ref}\``,
    });
  if ((verb === 'promote' || verb === 'abort') && rollout.status?.currentVersion === version)
    throw new UserError(`nothing to ${verb}: ${ref} already runs ${version} everywhere`, {
      hint: 'change spec.version to start a new agent rollout',
    });
  const step = rollout.status?.rollout?.step ?? 0;
  const annotations: Record<string, string> =
    verb === 'promote'
      ? { 'rollout.wasmfleet.io/promote': version }
      : verb === 'abort'
        ? { 'rollout.wasmfleet.io/abort': version }
        : verb === 'resume'
          ? { 'rollout.wasmfleet.io/gate-passed': `${version}/${step}` }
          : {};
  await kube.objects.patch(
    patchBody(rollout, annotations, verb === 'pause' ? true : verb === 'resume' ? false : undefined),
    undefined,
    undefined,
    'wasmfleet',
    undefined,
    PatchStrategy.MergePatch,
  );
  return `${ref} ${verb === 'pause' ? 'paused' : verb === 'resume' ? 'resumed' : verb === 'promote' ? `promoted to ${version}` : `aborted: devices go back to ${rollout.status?.currentVersion ?? 'the previous version'}`}`;
}

function patchBody(
  rollout: AgentRollout,
  annotations: Record<string, string>,
  paused: boolean | undefined,
): KubernetesObject {
  return {
    apiVersion: API_VERSION,
    kind: AGENT_ROLLOUT_KIND,
    metadata: { name: rollout.metadata.name, ...(Object.keys(annotations).length ? { annotations } : {}) },
    ...(paused !== undefined ? { spec: { paused } } : {}),
  };
}
