// SPDX-License-Identifier: Apache-2.0
// A device's EdgeNode status from its latest report: a summary that changes only when the device
// really changes (ADR 0023). Heartbeats never reach it: liveness lives in MQTT (retained status
// and last will), and the phase moves only on a last will, a missed-heartbeat timeout, or a
// device coming back. Per-function detail (revision, calls, errors, sensors' last readings) stays
// in the device's retained status, where the CLI reads it — even how many functions it runs, which
// changes on every device when a function is placed fleet-wide; the summary counts and lists the
// failing ones (capped). Pure.
import {
  functionHealth,
  MAX_FAILING_LISTED,
  type EdgeNodeFailingFunction,
  type EdgeNodeStatus,
  type NodeStatus,
} from '@wasmfleet/api';
import { removeCondition, setCondition } from '../kube/index.ts';

export interface NodeStatusInput {
  readonly report: NodeStatus | undefined;
  readonly previous: EdgeNodeStatus | undefined;
  readonly now: number;
  /** Heartbeats a device may miss before it counts as offline. */
  readonly missedHeartbeats: number;
}

/**
 * A report's heartbeat time, parsed once per report: every reconcile asks whether each of its
 * target devices is online, and a report lives until the device's next heartbeat (ADR 0045).
 */
const heartbeatTimes = new WeakMap<NodeStatus, number>();

/** When a device whose last heartbeat was at `heartbeatAt` counts as gone (ms since epoch). */
export function staleAt(report: NodeStatus, missedHeartbeats: number): number | undefined {
  if (!report.heartbeatAt) return undefined;
  let heartbeat = heartbeatTimes.get(report);
  if (heartbeat === undefined) heartbeatTimes.set(report, (heartbeat = Date.parse(report.heartbeatAt)));
  return heartbeat + (report.heartbeatIntervalSeconds ?? 30) * 1000 * missedHeartbeats;
}

/** Online: its last status says online and its heartbeats are not overdue. */
export function isOnline(report: NodeStatus, now: number, missedHeartbeats: number): boolean {
  if (report.state !== 'online') return false;
  const at = staleAt(report, missedHeartbeats);
  return at === undefined || now < at;
}

export function edgeNodeStatus(input: NodeStatusInput): EdgeNodeStatus {
  const { report, now } = input;
  // Fields earlier versions wrote on every heartbeat or placement are dropped (a merge patch
  // removes them).
  const { lastHeartbeat: _h, functions: _f, functionCount: _c, ...prev } = input.previous ?? {};
  if (!report) return { ...prev, phase: prev.phase ?? 'Unknown' };
  const online = isOnline(report, now, input.missedHeartbeats);
  const interval = report.heartbeatIntervalSeconds ?? 30;
  const reason =
    report.state === 'offline' ? 'AgentDisconnected' : online ? 'HeartbeatReceived' : 'HeartbeatMissed';
  const message =
    report.state === 'offline'
      ? 'the agent disconnected (its MQTT last will was published)'
      : online
        ? 'the agent is connected and sending heartbeats'
        : `no heartbeat for more than ${input.missedHeartbeats} × ${interval}s`;
  const status: EdgeNodeStatus = {
    ...prev,
    phase: online ? 'Online' : 'Offline',
    // Ready is what earlier operators wrote for this; dropped so it cannot go stale (and hold
    // up `helm upgrade --wait`, see EDGE_NODE_CONDITION_TYPES).
    conditions: setCondition(
      removeCondition(prev.conditions, 'Ready'),
      { type: 'Online', status: online ? 'True' : 'False', reason, message },
      new Date(now),
    ),
    ...(report.agentVersion ? { agentVersion: report.agentVersion.slice(0, 64) } : {}),
    ...(report.nodeVersion ? { nodeVersion: report.nodeVersion.slice(0, 64) } : {}),
    ...(report.arch ? { arch: report.arch.slice(0, 32) } : {}),
    ...(report.os ? { os: report.os.slice(0, 32) } : {}),
    ...(report.agentUpgrade ? { agentUpgrade: agentUpgradeStatus(report.agentUpgrade) } : {}),
  };
  // The last will carries nothing else: keep what the device said while it was online.
  return report.state === 'online' ? { ...status, ...summary(report) } : status;
}

/** What an online report says about the device beyond its phase. */
function summary(report: NodeStatus): EdgeNodeStatus {
  const sensors = report.sensors ?? [];
  const functions = report.functions ?? [];
  const failing: EdgeNodeFailingFunction[] = [];
  let failingCount = 0;
  for (const f of functions) {
    const health = functionHealth(f);
    if (!health.failing) continue;
    failingCount++;
    if (failing.length < MAX_FAILING_LISTED)
      failing.push({
        namespace: f.namespace,
        name: f.name,
        phase: f.phase,
        reason: health.reason.slice(0, 64),
      });
  }
  return {
    // Names and topics only: a sensor's last reading time is in the retained status.
    sensors: sensors.map((s) => ({ name: s.name, ...(s.topic ? { topic: s.topic.slice(0, 256) } : {}) })),
    sensorSummary: sensors
      .map((s) => s.name)
      .join(',')
      .slice(0, 256),
    ...(report.capacity
      ? {
          capacity: {
            functions: report.capacity.maxFunctions,
            memory: `${Math.floor(report.capacity.memoryBytes / 1024 / 1024)}Mi`,
          },
        }
      : {}),
    failingCount,
    failing,
  };
}

/** The agent's upgrade report as EdgeNode status (times without fractions, like the rest). */
function agentUpgradeStatus(
  u: NonNullable<NodeStatus['agentUpgrade']>,
): NonNullable<EdgeNodeStatus['agentUpgrade']> {
  return { ...u, ...(u.at ? { at: u.at.replace(/\.\d+Z$/, 'Z') } : {}) };
}
