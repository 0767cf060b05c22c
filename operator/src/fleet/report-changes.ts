// SPDX-License-Identifier: Apache-2.0
// What a device's new status report changes for the operator (ADR 0023). Most reports are
// heartbeats that change nothing but the time and the call counters; those must reach neither
// the API server nor the reconcilers, or a fleet at rest costs work proportional to its size.
// Pure: compares the previous report with the new one.
import { functionHealth, functionKey, type FunctionStatusReport, type NodeStatus } from '@wasmfleet/api';

export interface ReportChanges {
  /** Something the EdgeNode summary shows changed (state, versions, sensors, capacity, functions). */
  readonly node: boolean;
  /** Functions ("namespace/name") whose state on this device changed: revision, phase, health. */
  readonly functions: readonly string[];
}

export function reportChanges(previous: NodeStatus | undefined, next: NodeStatus): ReportChanges {
  if (!previous) {
    return { node: true, functions: (next.functions ?? []).map(functionKey) };
  }
  const before = new Map((previous.functions ?? []).map((f) => [functionKey(f), f] as const));
  const after = new Map((next.functions ?? []).map((f) => [functionKey(f), f] as const));
  const functions: string[] = [];
  for (const [key, f] of after) if (functionState(before.get(key)) !== functionState(f)) functions.push(key);
  for (const key of before.keys()) if (!after.has(key)) functions.push(key);
  // A device that went offline (or came back) changes every function's view of it.
  const stateChanged = previous.state !== next.state;
  return {
    node: stateChanged || nodeSummary(previous) !== nodeSummary(next) || functions.length > 0,
    functions: stateChanged ? [...new Set([...functions, ...before.keys(), ...after.keys()])] : functions,
  };
}

/** What the operator's aggregates read from one function report, as a comparable string. */
function functionState(f: FunctionStatusReport | undefined): string {
  if (!f) return '';
  const health = functionHealth(f);
  return [f.revision, f.phase, health.failing ? `${health.kind}:${health.reason}` : '', f.reason ?? ''].join(
    '|',
  );
}

/** The fields of a report the EdgeNode summary copies (not times, not counters). */
function nodeSummary(r: NodeStatus): string {
  return JSON.stringify([
    r.state,
    r.agentVersion,
    r.nodeVersion,
    r.arch,
    r.os,
    r.heartbeatIntervalSeconds,
    (r.sensors ?? []).map((s) => [s.name, s.topic]),
    r.capacity,
    // An agent upgrade's phase drives AgentRollouts (agent-rollout-plan.ts).
    r.agentUpgrade,
  ]);
}
