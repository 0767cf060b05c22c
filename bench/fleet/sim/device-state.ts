// SPDX-License-Identifier: Apache-2.0
// One simulated device's state and the documents it publishes, as the wire contract says
// (docs/mqtt-contract.md): its status (retained, on every change and every heartbeat) and the
// offline document its last will carries. Pure; the swarm process does the I/O.
import type { FunctionStatusReport, NodeStatus } from '@wasmfleet/api';

export interface SimDevice {
  readonly node: string;
  readonly startedAt: string;
  readonly sensors: readonly string[];
  observedGeneration: number;
  /** namespace/name → its report. */
  readonly functions: Map<string, FunctionStatusReport>;
  /** Heartbeats stop while false (simulated offline). */
  online: boolean;
}

export function newDevice(node: string, sensors: readonly string[], now: Date): SimDevice {
  return {
    node,
    startedAt: now.toISOString(),
    sensors,
    observedGeneration: 0,
    functions: new Map(),
    online: true,
  };
}

export function statusDocument(device: SimDevice, heartbeatSeconds: number, now: Date): NodeStatus {
  return {
    version: 1,
    node: device.node,
    state: 'online',
    agentVersion: 'sim-0.3.0',
    nodeVersion: process.version,
    arch: process.arch,
    os: process.platform,
    startedAt: device.startedAt,
    heartbeatAt: now.toISOString(),
    heartbeatIntervalSeconds: heartbeatSeconds,
    observedGeneration: device.observedGeneration,
    sensors: device.sensors.map((name) => ({ name })),
    capacity: { maxFunctions: 16, memoryBytes: 256 * 1024 * 1024, runtimes: ['core'] },
    functions: [...device.functions.values()],
  };
}

export function offlineDocument(node: string): NodeStatus {
  return { version: 1, node, state: 'offline' };
}

interface DesiredLike {
  readonly generation?: unknown;
  readonly functions?: readonly { namespace?: unknown; name?: unknown; revision?: unknown }[];
}

/**
 * Applies a desired document: every listed function runs at once (no wasm here), with its
 * counters kept across a revision so error-rate gates see continuous totals. Returns false when
 * the payload is not a desired document (an empty retained message clears it).
 */
export function applyDesired(device: SimDevice, payload: Buffer, now: Date): boolean {
  if (payload.length === 0) return false;
  let doc: DesiredLike;
  try {
    doc = JSON.parse(payload.toString('utf8')) as DesiredLike;
  } catch {
    return false;
  }
  if (typeof doc.generation === 'number') device.observedGeneration = doc.generation;
  const next = new Map<string, FunctionStatusReport>();
  for (const fn of doc.functions ?? []) {
    if (typeof fn.namespace !== 'string' || typeof fn.name !== 'string' || typeof fn.revision !== 'string')
      continue;
    const key = `${fn.namespace}/${fn.name}`;
    const previous = device.functions.get(key);
    const same = previous?.revision === fn.revision;
    next.set(key, {
      namespace: fn.namespace,
      name: fn.name,
      revision: fn.revision,
      phase: 'Running',
      since: same ? previous.since : now.toISOString(),
      restarts: 0,
      invocations: previous?.invocations ?? 0,
      errors: previous?.errors ?? 0,
      malformed: 0,
    });
  }
  device.functions.clear();
  for (const [k, v] of next) device.functions.set(k, v);
  return true;
}
