// SPDX-License-Identifier: Apache-2.0
// A device's EdgeNode status from its latest report. Pure. lastHeartbeat alone changes on every
// heartbeat; `heartbeatDue` lets the caller write it only now and then, so 1,000 devices do not
// become 1,000 API writes every heartbeat interval.
import type { EdgeNodeConditionType, EdgeNodeStatus, NodeStatus } from '@wasmfleet/api';
import { setCondition } from '../kube/index.ts';

const INSTANCE_PHASE: Record<string, NonNullable<EdgeNodeStatus['functions']>[number]['phase']> = {
  Pending: 'Pending',
  Fetching: 'Fetching',
  Starting: 'Starting',
  Running: 'Running',
  Failed: 'Failed',
  CrashLoopBackOff: 'Failed',
};

export interface NodeStatusInput {
  readonly report: NodeStatus | undefined;
  readonly previous: EdgeNodeStatus | undefined;
  readonly now: number;
  /** Heartbeats a device may miss before it counts as offline. */
  readonly missedHeartbeats: number;
}

export interface NodeStatusResult {
  readonly status: EdgeNodeStatus;
  /** When the device turns stale if no heartbeat arrives (reconcile again then). */
  readonly staleAt: number | undefined;
}

export function edgeNodeStatus(input: NodeStatusInput): NodeStatusResult {
  const { report, previous, now } = input;
  const prev = previous ?? {};
  if (!report) {
    return { status: { ...prev, phase: prev.phase ?? 'Unknown' }, staleAt: undefined };
  }
  const heartbeatAt = report.heartbeatAt ? Date.parse(report.heartbeatAt) : undefined;
  const interval = (report.heartbeatIntervalSeconds ?? 30) * 1000;
  const staleAt = heartbeatAt !== undefined ? heartbeatAt + interval * input.missedHeartbeats : undefined;
  const online = report.state === 'online' && (staleAt === undefined || now < staleAt);
  const reason =
    report.state === 'offline' ? 'AgentDisconnected' : online ? 'HeartbeatReceived' : 'HeartbeatMissed';
  const message =
    report.state === 'offline'
      ? 'the agent disconnected (its MQTT last will was published)'
      : online
        ? 'the agent is connected and sending heartbeats'
        : `no heartbeat for more than ${input.missedHeartbeats} × ${interval / 1000}s`;
  const conditions = setCondition<EdgeNodeConditionType>(
    prev.conditions ?? [],
    { type: 'Ready', status: online ? 'True' : 'False', reason, message },
    new Date(now),
  );
  const sensors = report.sensors ?? [];
  const functions = (report.functions ?? []).map((f) => ({
    namespace: f.namespace,
    name: f.name,
    revision: f.revision,
    phase: INSTANCE_PHASE[f.phase] ?? 'Pending',
    invocations: f.invocations,
    errors: f.errors,
    ...(f.lastError ? { lastError: f.lastError.slice(0, 1024) } : {}),
  }));
  const status: EdgeNodeStatus = {
    ...prev,
    phase: online ? 'Online' : 'Offline',
    conditions: conditions,
    ...(report.heartbeatAt ? { lastHeartbeat: report.heartbeatAt.replace(/\.\d+Z$/, 'Z') } : {}),
    ...(report.agentVersion ? { agentVersion: report.agentVersion.slice(0, 64) } : {}),
    ...(report.nodeVersion ? { nodeVersion: report.nodeVersion.slice(0, 64) } : {}),
    ...(report.arch ? { arch: report.arch.slice(0, 32) } : {}),
    ...(report.os ? { os: report.os.slice(0, 32) } : {}),
  };
  if (report.state === 'online') {
    status.sensors = sensors.map((s) => ({
      name: s.name,
      ...(s.topic ? { topic: s.topic.slice(0, 256) } : {}),
      ...(s.lastSeen ? { lastSeen: s.lastSeen.replace(/\.\d+Z$/, 'Z') } : {}),
    }));
    status.sensorSummary = sensors
      .map((s) => s.name)
      .join(',')
      .slice(0, 256);
    if (report.capacity) {
      status.capacity = {
        functions: report.capacity.maxFunctions,
        memory: `${Math.floor(report.capacity.memoryBytes / 1024 / 1024)}Mi`,
      };
    }
    status.functions = functions;
    status.functionCount = functions.length;
  }
  return { status, staleAt: online ? staleAt : undefined };
}

/** True when the only difference is lastHeartbeat (and it was written recently enough). */
export function onlyHeartbeatChanged(a: EdgeNodeStatus | undefined, b: EdgeNodeStatus): boolean {
  if (!a) return false;
  const strip = ({ lastHeartbeat: _h, conditions, sensors, ...rest }: EdgeNodeStatus) => ({
    ...rest,
    conditions: conditions?.map(({ lastTransitionTime: _t, ...c }) => c),
    sensors: sensors?.map(({ lastSeen: _s, ...s }) => s),
  });
  return JSON.stringify(strip(a)) === JSON.stringify(strip(b));
}
