// SPDX-License-Identifier: Apache-2.0
// What a device's new status report changes for the operator (ADR 0023). Most reports are
// heartbeats that change nothing but the time and the call counters; those must reach neither
// the API server nor the reconcilers, or a fleet at rest costs work proportional to its size.
// Pure: compares the previous report with the new one.
import { functionHealth, functionKey, type FunctionStatusReport, type NodeStatus } from '@wasmfleet/api';
import { jsonEqual } from '../kube/index.ts';

export interface ReportChanges {
  /**
   * Something the EdgeNode summary shows changed (state, versions, sensors, capacity, failing
   * functions), or a function or one of its revisions left the device.
   */
  readonly node: boolean;
  /** Functions ("namespace/name") whose state on this device changed: revision, phase, health. */
  readonly functions: readonly string[];
}

export function reportChanges(previous: NodeStatus | undefined, next: NodeStatus): ReportChanges {
  if (!previous) {
    return { node: true, functions: (next.functions ?? []).map(functionKey) };
  }
  // Most reports are heartbeats: the same functions in the same order, nothing the operator reads
  // changed. Told apart field by field, without the maps and strings below (a fleet of 100,000
  // sends ~3,300 a second; issue 18).
  if (previous.state === next.state && sameFunctionStates(previous.functions, next.functions))
    return { node: !sameSummary(previous, next), functions: [] };
  const before = new Map((previous.functions ?? []).map((f) => [functionKey(f), f] as const));
  const after = new Map((next.functions ?? []).map((f) => [functionKey(f), f] as const));
  const functions: string[] = [];
  // The EdgeNode summary lists failing functions only, and device identities revoke the grants of
  // a revision that left the report (identity/device-identities.ts `sync`): those reach the
  // device's reconcile. A function starting healthy does not — in a fleet-wide apply that was one
  // EdgeNode reconcile per device, each writing nothing (issue 18).
  let nodeNews = false;
  for (const [key, f] of after) {
    const was = before.get(key);
    if (functionState(was) === functionState(f)) continue;
    functions.push(key);
    if (was !== undefined && (was.revision !== f.revision || functionHealth(was).failing)) nodeNews = true;
    if (functionHealth(f).failing) nodeNews = true;
  }
  for (const key of before.keys()) {
    if (after.has(key)) continue;
    functions.push(key);
    nodeNews = true;
  }
  // A device that went offline (or came back) changes every function's view of it.
  const stateChanged = previous.state !== next.state;
  return {
    node: stateChanged || nodeNews || !sameSummary(previous, next),
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

/** Same functions, in the same order, each in the same state (`functionState`). */
function sameFunctionStates(
  a: readonly FunctionStatusReport[] | undefined,
  b: readonly FunctionStatusReport[] | undefined,
): boolean {
  const before = a ?? [];
  const after = b ?? [];
  if (before.length !== after.length) return false;
  for (let i = 0; i < before.length; i++) {
    const x = before[i];
    const y = after[i];
    if (x === undefined || y === undefined || x.namespace !== y.namespace || x.name !== y.name) return false;
    if (functionState(x) !== functionState(y)) return false;
  }
  return true;
}

/** The fields of a report the EdgeNode summary copies (not times, not counters). */
function sameSummary(a: NodeStatus, b: NodeStatus): boolean {
  return (
    a.state === b.state &&
    a.agentVersion === b.agentVersion &&
    a.nodeVersion === b.nodeVersion &&
    a.arch === b.arch &&
    a.os === b.os &&
    a.heartbeatIntervalSeconds === b.heartbeatIntervalSeconds &&
    sameSensors(a.sensors, b.sensors) &&
    jsonEqual(a.capacity, b.capacity) &&
    // An agent upgrade's phase drives AgentRollouts (agent-rollout-plan.ts).
    jsonEqual(a.agentUpgrade, b.agentUpgrade)
  );
}

/** Sensor names and topics (a reading's time is not the summary's). */
function sameSensors(a: NodeStatus['sensors'], b: NodeStatus['sensors']): boolean {
  const before = a ?? [];
  const after = b ?? [];
  return (
    before.length === after.length &&
    before.every((s, i) => {
      const t = after[i];
      return t !== undefined && s.name === t.name && s.topic === t.topic;
    })
  );
}
