// SPDX-License-Identifier: Apache-2.0
// A function's status, aggregated from what its devices report. Pure. A device counts as
// updated only once it REPORTS the update revision (never because we sent it), so a rollout
// cannot claim success before every targeted device confirms.
import type { FunctionStatusReport, NodeFunctionStatus, WasmFunctionPhase } from '@wasmfleet/api';

export interface NodeView {
  readonly online: boolean;
  /** What the device reports for this function, if anything. */
  readonly report: FunctionStatusReport | undefined;
}

export interface AggregateInput {
  readonly updateRevision: string;
  /** Devices placement chose. */
  readonly targets: readonly string[];
  readonly nodes: ReadonlyMap<string, NodeView>;
  readonly maxListed: number;
}

export interface Aggregate {
  readonly desiredNodes: number;
  readonly updatedNodes: number;
  readonly readyNodes: number;
  readonly failedNodes: number;
  readonly offlineNodes: number;
  readonly phase: WasmFunctionPhase;
  readonly nodes: NodeFunctionStatus[];
  readonly nodesOmitted: number;
  /** Failures by reason, most common first: "Trap on 3 devices, Timeout on 1". */
  readonly failureSummary: string | undefined;
  /** invocations and errors summed over updated devices (for error-rate gates). */
  readonly invocations: number;
  readonly errors: number;
}

const FAILED = new Set(['Failed', 'CrashLoopBackOff']);

export function aggregateFunctionStatus(input: AggregateInput): Aggregate {
  let updated = 0;
  /** Running any revision: a device held on the stable revision after a rollback serves too. */
  let ready = 0;
  /** Running the update revision: the function is Ready only when all of them are. */
  let updatedReady = 0;
  let failed = 0;
  let offline = 0;
  let invocations = 0;
  let errors = 0;
  const reasons = new Map<string, number>();
  const rows: (NodeFunctionStatus & { rank: number })[] = [];
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
    if (report?.phase === 'Running') {
      ready++;
      if (current) updatedReady++;
    }
    const isFailed = report !== undefined && FAILED.has(report.phase);
    if (isFailed) {
      failed++;
      const reason = report.reason ?? 'Failed';
      reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    }
    const phase = report ? (FAILED.has(report.phase) ? 'Failed' : report.phase) : 'Pending';
    const message =
      report?.message ?? report?.lastError ?? (view && !view.online ? 'device offline' : undefined);
    rows.push({
      node,
      phase: phase as NodeFunctionStatus['phase'],
      ...(report?.revision ? { revision: report.revision } : {}),
      ...(message ? { message: message.slice(0, 1024) } : {}),
      ...(report?.since ? { lastTransitionTime: report.since } : {}),
      rank: isFailed ? 0 : phase !== 'Running' ? 1 : 2,
    });
  }
  rows.sort((a, b) => a.rank - b.rank || (a.node < b.node ? -1 : 1));
  const listed = rows.slice(0, input.maxListed).map(({ rank: _rank, ...row }) => row);
  const desired = input.targets.length;
  const phase: WasmFunctionPhase =
    desired === 0 ? 'Pending' : failed > 0 ? 'Degraded' : updatedReady === desired ? 'Ready' : 'Progressing';
  const failureSummary =
    reasons.size === 0
      ? undefined
      : [...reasons.entries()]
          .sort((a, b) => b[1] - a[1])
          .map(([reason, n]) => `${reason} on ${n} device${n > 1 ? 's' : ''}`)
          .join(', ');
  return {
    desiredNodes: desired,
    updatedNodes: updated,
    readyNodes: ready,
    failedNodes: failed,
    offlineNodes: offline,
    phase,
    nodes: listed,
    nodesOmitted: Math.max(0, rows.length - listed.length),
    failureSummary,
    invocations,
    errors,
  };
}
