// SPDX-License-Identifier: Apache-2.0
// A function's status, aggregated from what its devices report. Pure. A device counts as
// updated only once it REPORTS the update revision (never because we sent it), so a rollout
// cannot claim success before every targeted device confirms; it counts as ready only while it
// runs the function without failing (api functionHealth: not Failed, not crash-looping, and most
// of its recent calls succeed — ADR 0022).
import {
  functionHealth,
  type FunctionHealth,
  type FunctionStatusReport,
  type NodeFunctionStatus,
  type WasmFunctionPhase,
} from '@wasmfleet/api';

export interface NodeView {
  readonly online: boolean;
  /** What the device reports for this function, if anything. */
  readonly report: FunctionStatusReport | undefined;
}

export interface AggregateInput {
  readonly updateRevision: string;
  /** Devices placement chose. */
  readonly targets: readonly string[];
  /** A Map, or any lookup by device name. */
  readonly nodes: Pick<ReadonlyMap<string, NodeView>, 'get'>;
  readonly maxListed: number;
}

export interface Aggregate {
  readonly desiredNodes: number;
  readonly updatedNodes: number;
  /** Running any revision without failing. */
  readonly readyNodes: number;
  /** …of which run the update revision. */
  readonly updatedReadyNodes: number;
  /** Failed, CrashLoopBackOff, or most recent calls failing. */
  readonly failedNodes: number;
  /** …of which only their calls fail (the instance runs): Degraded's reason is then CallsFailing. */
  readonly callsFailingNodes: number;
  readonly offlineNodes: number;
  readonly phase: WasmFunctionPhase;
  readonly nodes: NodeFunctionStatus[];
  readonly nodesOmitted: number;
  /**
   * Failures by reason, most common first, and the first failing device's message:
   * "CrashLoopBackOff (Trap) on 3 devices, calls failing on 1 device; dev-7: 5 calls in a row failed…".
   */
  readonly failureSummary: string | undefined;
  /** invocations and errors summed over updated devices (for error-rate gates). */
  readonly invocations: number;
  readonly errors: number;
}

/** A failing device, kept with its health for its row. */
interface Failing {
  readonly node: string;
  readonly view: NodeView | undefined;
  readonly health: Extract<FunctionHealth, { failing: true }>;
}

export function aggregateFunctionStatus(input: AggregateInput): Aggregate {
  let updated = 0;
  /** Running any revision: a device held on the stable revision after a rollback serves too. */
  let ready = 0;
  /** Running the update revision: the function is Ready only when all of them are. */
  let updatedReady = 0;
  let callsFailing = 0;
  let offline = 0;
  let invocations = 0;
  let errors = 0;
  const kinds = new Map<string, number>();
  // Devices by rank (failing, not running yet, running): only the first `maxListed` get a row.
  // A reconcile aggregates every target device, so a row object per device and a sort of all of
  // them cost O(devices log devices) of garbage per reconcile for a list of 50 (issue 18).
  const failing: Failing[] = [];
  const notRunning: string[] = [];
  const running: string[] = [];
  for (const node of input.targets) {
    const view = input.nodes.get(node);
    const report = view?.report;
    if (view && !view.online) offline++;
    const current = report?.revision === input.updateRevision;
    if (current) {
      updated++;
      invocations += report.invocations;
      errors += report.errors;
    }
    const health = report ? functionHealth(report) : NOT_FAILING;
    if (health.failing) {
      if (health.kind === 'CallsFailing') callsFailing++;
      const kind = failureKind(health.kind, health.reason);
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
      failing.push({ node, view, health });
    } else if (report?.phase === 'Running') {
      ready++;
      if (current) updatedReady++;
      running.push(node);
    } else notRunning.push(node);
  }
  failing.sort((a, b) => (a.node < b.node ? -1 : 1));
  const listed = listedRows(input, failing, notRunning, running);
  const desired = input.targets.length;
  const failed = failing.length;
  const phase: WasmFunctionPhase =
    desired === 0 ? 'Pending' : failed > 0 ? 'Degraded' : updatedReady === desired ? 'Ready' : 'Progressing';
  const first = failing[0];
  const failureSummary = first && summarize(kinds, deviceRow(first.node, first.view, first.health));
  return {
    desiredNodes: desired,
    updatedNodes: updated,
    readyNodes: ready,
    updatedReadyNodes: updatedReady,
    failedNodes: failed,
    callsFailingNodes: callsFailing,
    offlineNodes: offline,
    phase,
    nodes: listed,
    nodesOmitted: Math.max(0, desired - listed.length),
    failureSummary,
    invocations,
    errors,
  };
}

/**
 * The first `maxListed` rows in (rank, name) order: failing devices (sorted by the caller) first,
 * then those not running yet, then the rest. A rank's names are sorted only when the list
 * reaches it.
 */
function listedRows(
  input: AggregateInput,
  failing: Failing[],
  notRunning: string[],
  running: string[],
): NodeFunctionStatus[] {
  const rows: NodeFunctionStatus[] = [];
  const max = input.maxListed;
  for (const f of failing.slice(0, max)) rows.push(deviceRow(f.node, f.view, f.health));
  for (const names of [notRunning, running]) {
    if (rows.length >= max || names.length === 0) continue;
    // The default sort compares UTF-16 code units, as `<` does.
    names.sort();
    for (const node of names.slice(0, max - rows.length))
      rows.push(deviceRow(node, input.nodes.get(node), NOT_FAILING));
  }
  return rows;
}

/** Failures by kind, most common first, then the first failing device's own words. */
function summarize(kinds: ReadonlyMap<string, number>, first: NodeFunctionStatus): string | undefined {
  if (kinds.size === 0) return undefined;
  const byKind = [...kinds.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([kind, n]) => `${kind} on ${n} device${n > 1 ? 's' : ''}`)
    .join(', ');
  return `${byKind}; ${first.node}: ${first.message ?? first.reason ?? first.phase}`;
}

const NOT_FAILING: FunctionHealth = { failing: false };

/** One device's row in the status list (listedRows puts them in order). */
function deviceRow(node: string, view: NodeView | undefined, health: FunctionHealth): NodeFunctionStatus {
  const report = view?.report;
  const message = health.failing
    ? health.message
    : (report?.message ?? report?.lastError ?? (view && !view.online ? 'device offline' : undefined));
  const phase = report?.phase ?? 'Pending';
  return {
    node,
    phase,
    ...(report?.revision ? { revision: report.revision } : {}),
    ...(health.failing ? { reason: health.reason.slice(0, 64) } : {}),
    ...(message ? { message: message.slice(0, 1024) } : {}),
    ...(report?.since ? { lastTransitionTime: report.since } : {}),
  };
}

/** "Trap" for a Failed instance (its reason), "CrashLoopBackOff (Trap)", "calls failing". */
function failureKind(kind: 'Failed' | 'CrashLoopBackOff' | 'CallsFailing', reason: string): string {
  if (kind === 'CallsFailing') return 'calls failing';
  return kind === 'CrashLoopBackOff' ? `CrashLoopBackOff (${reason})` : reason;
}
