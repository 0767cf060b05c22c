// SPDX-License-Identifier: Apache-2.0
// An AgentRollout's next step, from the rollout core the functions use (operator/src/rollout,
// docs/adr/0032): the devices it selects that can upgrade themselves, what each reports (its
// agent version; Running when online with its functions Running; Failed when it rolled the
// update back), the persisted progress and the manual controls → the version each device should
// run, its agent target document, and the status to write. Pure.
import type { AgentArtifact, AgentRollout, AgentRolloutStatus, AgentTarget, EdgeNode } from '@wasmfleet/api';
import { decideRollout, rolloutSettings, type RolloutDecision, type TargetDevice } from '../rollout/index.ts';
import { progressFromStatus, statusFromDecision } from '../controllers/rollout-plan.ts';
import { matchesSelector } from '../scheduler/selector.ts';

const ANNOTATION = {
  promote: 'rollout.wasmfleet.io/promote',
  gatePassed: 'rollout.wasmfleet.io/gate-passed',
  abort: 'rollout.wasmfleet.io/abort',
} as const;
const DEFAULT_DEADLINE_SECONDS = 120;
const MAX_SKIPPED = 100;

export interface AgentRolloutPlan {
  readonly decision: RolloutDecision;
  /** node → the document to publish on its agent topic. */
  readonly documents: ReadonlyMap<string, AgentTarget>;
  readonly status: AgentRolloutStatus;
}

/** The devices the rollout takes, those it skips and why, and what each runs and is. */
interface Selection {
  readonly targets: TargetDevice[];
  readonly skipped: { node: string; reason: string }[];
  readonly updated: number;
  /** node → its CPU architecture, to pick the artifact. */
  readonly arch: Map<string, string>;
}

function selectTargets(
  spec: AgentRollout['spec'],
  nodes: readonly EdgeNode[],
  told: (node: string) => string | undefined,
): Selection {
  const update = spec.version;
  const selection: Selection = { targets: [], skipped: [], updated: 0, arch: new Map() };
  let updated = 0;
  for (const node of nodes) {
    const name = node.metadata.name ?? '';
    if (spec.nodeSelector && !matchesSelector(spec.nodeSelector, node.metadata.labels ?? {})) continue;
    const why = skipReason(node, spec.artifacts);
    if (why) {
      selection.skipped.push({ node: name, reason: why });
      continue;
    }
    selection.arch.set(name, node.status?.arch ?? '');
    selection.targets.push({ ...targetDevice(node, update), assigned: told(name) });
    if (node.status?.agentVersion === update) updated++;
  }
  return { ...selection, updated };
}

/** `told`: the version each device's published agent target names (undefined: none yet). */
export function planAgentRollout(
  rollout: AgentRollout,
  nodes: readonly EdgeNode[],
  told: (node: string) => string | undefined,
  now: number,
): AgentRolloutPlan {
  const spec = rollout.spec;
  const update = spec.version;
  const selection = selectTargets(spec, nodes, told);
  const { targets } = selection;
  const current = rollout.status?.currentVersion ?? mostReported(targets) ?? update;
  const a = rollout.metadata.annotations ?? {};
  const gate = a[ANNOTATION.gatePassed]?.split('/');
  const gateStep = gate?.[0] === update ? Number(gate[1]) : Number.NaN;
  const decision = decideRollout({
    functionKey: `agentrollout/${rollout.metadata.name ?? ''}`,
    settings: rolloutSettings(spec.rollout),
    currentRevision: current,
    updateRevision: update,
    targets,
    progress: progressFromStatus(rollout.status?.rollout),
    controls: {
      paused: spec.paused ?? false,
      promote: a[ANNOTATION.promote] === update,
      abort: a[ANNOTATION.abort] === update,
      ...(Number.isInteger(gateStep) ? { gatePassedStep: gateStep } : {}),
    },
    now,
  });
  return {
    decision,
    documents: agentTargets(rollout, decision, selection.arch, current),
    status: rolloutStatus(rollout, decision, selection, current),
  };
}

/** Each assigned device's agent target: the version, and the artifact for its architecture. */
function agentTargets(
  rollout: AgentRollout,
  decision: RolloutDecision,
  arch: ReadonlyMap<string, string>,
  current: string,
): Map<string, AgentTarget> {
  const spec = rollout.spec;
  const update = spec.version;
  const deadlineSeconds = spec.healthDeadlineSeconds ?? DEFAULT_DEADLINE_SECONDS;
  const documents = new Map<string, AgentTarget>();
  for (const [node, version] of decision.assignments) {
    const artifacts =
      version === update
        ? spec.artifacts
        : version === current
          ? rollout.status?.currentArtifacts
          : undefined;
    const artifact = artifacts?.find((x) => x.arch === arch.get(node));
    documents.set(node, {
      version: 1,
      node,
      agent: {
        version,
        deadlineSeconds,
        ...(artifact
          ? {
              artifact: {
                url: artifact.url,
                sha256: artifact.sha256,
                ...(artifact.size ? { size: artifact.size } : {}),
                keyId: artifact.signature.keyId,
                ed25519: artifact.signature.ed25519,
              },
            }
          : {}),
      },
    });
  }
  return documents;
}

function rolloutStatus(
  rollout: AgentRollout,
  decision: RolloutDecision,
  selection: Selection,
  current: string,
): AgentRolloutStatus {
  const spec = rollout.spec;
  const update = spec.version;
  return {
    ...(rollout.metadata.generation !== undefined ? { observedGeneration: rollout.metadata.generation } : {}),
    currentVersion: decision.complete ? update : current,
    ...(decision.complete
      ? { currentArtifacts: spec.artifacts }
      : rollout.status?.currentArtifacts
        ? { currentArtifacts: rollout.status.currentArtifacts }
        : {}),
    updateVersion: update,
    targets: selection.targets.length,
    updated: selection.updated,
    skipped: selection.skipped.slice(0, MAX_SKIPPED),
    rollout: statusFromDecision(decision, false),
  };
}

function skipReason(node: EdgeNode, artifacts: readonly AgentArtifact[]): string | undefined {
  const s = node.status;
  if (!s?.agentVersion) return 'the device has not reported yet';
  if (!s.agentUpgrade?.supported)
    return `agent ${s.agentVersion} cannot upgrade itself (it does not run under wasmfleet-agent-supervise, or predates 0.3.0)`;
  if (!artifacts.some((a) => a.arch === s.arch))
    return `no artifact for its architecture ${s.arch ?? '(unknown)'}`;
  return undefined;
}

function targetDevice(node: EdgeNode, update: string): TargetDevice {
  const s = node.status ?? {};
  const upgrade = s.agentUpgrade;
  const rolledBack =
    upgrade?.version === update && (upgrade.phase === 'RolledBack' || upgrade.phase === 'Failed');
  // Installing, or on trial until its functions run (the agent then drops the phase and the
  // supervisor makes the version current): not yet an updated device.
  const settling =
    upgrade?.version === update && (upgrade.phase === 'Installing' || upgrade.phase === 'Trial');
  const online = s.phase === 'Online';
  // Per-function phases stay in the device's retained status (ADR 0023); the summary counts the
  // failing ones.
  const phase = rolledBack
    ? 'Failed'
    : online && !settling && (s.failingCount ?? 0) === 0
      ? 'Running'
      : 'Starting';
  return {
    name: node.metadata.name ?? '',
    labels: node.metadata.labels ?? {},
    online,
    assigned: undefined,
    report: {
      // A device that rolled the update back still runs the old version: its failure is the update's.
      revision: rolledBack ? update : (s.agentVersion ?? ''),
      phase,
      // No call counts: they are per function, in the device's retained status (ADR 0023), so an
      // agent rollout is gated by devices coming back Running, not by error rates.
      invocations: 0,
      errors: 0,
      ...(rolledBack
        ? { reason: `${upgrade.reason ?? 'RolledBack'}: ${upgrade.message ?? ''}`.slice(0, 256) }
        : {}),
    },
  };
}

/** The agent version most targets report (where a first rollback goes). */
function mostReported(targets: readonly TargetDevice[]): string | undefined {
  const counts = new Map<string, number>();
  for (const t of targets)
    if (t.report?.revision) counts.set(t.report.revision, (counts.get(t.report.revision) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]?.[0];
}
