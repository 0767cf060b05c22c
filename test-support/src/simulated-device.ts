// SPDX-License-Identifier: Apache-2.0
// A light simulated device: speaks the wire contract (docs/mqtt-contract.md) like an agent but
// runs nothing. For tests and benchmarks about the operator alone (thousands of them fit in one
// process); tests about running functions use the real agent.
import mqtt, { type MqttClient } from 'mqtt';
import {
  desiredTopic,
  parseDesiredState,
  statusTopic,
  type DesiredState,
  type FunctionStatusReport,
  type NodeStatus,
} from '@wasmfleet/api';

export interface SimulatedDeviceOptions {
  readonly brokerUrl: string;
  readonly node: string;
  readonly sensors?: readonly string[];
  readonly heartbeatSeconds?: number;
  readonly capacity?: { readonly maxFunctions: number; readonly memoryBytes: number };
  /**
   * Ignores the first this many desired documents delivered to it, as if the broker had never
   * delivered them (a clustered broker can miss one: ADR 0048); its status stays behind.
   */
  readonly missDesired?: number;
  /** Decides how an assigned function fares; default: Running. */
  readonly outcome?: (fn: {
    namespace: string;
    name: string;
    revision: string;
    config: Readonly<Record<string, string>>;
  }) => 'Running' | 'Failed' | 'Starting';
}

export interface SimulatedDevice {
  readonly node: string;
  /** The last desired document received. */
  desired(): DesiredState | undefined;
  /** Every desired document received, in order. */
  readonly received: DesiredState[];
  /**
   * Publishes its status now; `heartbeatAt` back-dates it, as a heartbeat that a cut link held
   * back and delivered late would be.
   */
  publishStatus(heartbeatAt?: Date): Promise<void>;
  /** Stops heartbeats but stays connected (a hung agent): no last will is published. */
  goSilent(): void;
  /** Sends heartbeats again. */
  resume(): Promise<void>;
  /** Disconnects cleanly, publishing an offline status first. */
  stop(): Promise<void>;
  /** Drops the connection without a goodbye: the broker publishes the last will. */
  crash(): Promise<void>;
}

export async function startSimulatedDevice(options: SimulatedDeviceOptions): Promise<SimulatedDevice> {
  const offline: NodeStatus = { version: 1, node: options.node, state: 'offline' };
  const startedAt = new Date().toISOString();
  const received: DesiredState[] = [];
  const functions = new Map<string, FunctionStatusReport>();
  const client: MqttClient = await mqtt.connectAsync(options.brokerUrl, {
    protocolVersion: 5,
    clientId: `sim-${options.node}`,
    clean: true,
    reconnectPeriod: 500,
    will: {
      topic: statusTopic(options.node),
      payload: Buffer.from(JSON.stringify(offline)),
      qos: 1,
      retain: true,
    },
  });
  let observedGeneration = 0;
  let missed = 0;

  const status = (heartbeatAt = new Date()): NodeStatus => ({
    version: 1,
    node: options.node,
    state: 'online',
    agentVersion: 'sim-0.1.0',
    nodeVersion: process.versions.node,
    arch: process.arch,
    os: process.platform,
    startedAt,
    heartbeatAt: heartbeatAt.toISOString(),
    heartbeatIntervalSeconds: options.heartbeatSeconds ?? 30,
    observedGeneration,
    sensors: (options.sensors ?? []).map((name) => ({ name })),
    capacity: {
      ...(options.capacity ?? { maxFunctions: 16, memoryBytes: 256 * 1024 * 1024 }),
      runtimes: ['core', 'component'],
    },
    functions: [...functions.values()],
  });
  const publishStatus = async (heartbeatAt?: Date): Promise<void> => {
    await client.publishAsync(statusTopic(options.node), JSON.stringify(status(heartbeatAt)), {
      qos: 1,
      retain: true,
    });
  };

  client.on('message', (_topic, payload) => {
    if (payload.length === 0) return;
    const parsed = parseDesiredState(payload);
    if (!parsed.ok) return;
    if (missed < (options.missDesired ?? 0)) {
      missed += 1;
      return;
    }
    const doc = parsed.value;
    received.push(doc);
    observedGeneration = doc.generation;
    const now = new Date().toISOString();
    const next = new Map<string, FunctionStatusReport>();
    for (const fn of doc.functions) {
      const key = `${fn.namespace}/${fn.name}`;
      const phase = options.outcome?.(fn) ?? 'Running';
      const previous = functions.get(key);
      next.set(key, {
        namespace: fn.namespace,
        name: fn.name,
        revision: fn.revision,
        phase,
        ...(phase === 'Failed'
          ? { reason: 'Trap', message: 'simulated trap', lastError: 'simulated trap' }
          : {}),
        since: previous?.revision === fn.revision && previous.phase === phase ? previous.since : now,
        restarts: 0,
        invocations: previous?.invocations ?? 0,
        errors: previous?.errors ?? 0,
        malformed: 0,
      });
    }
    functions.clear();
    for (const [k, v] of next) functions.set(k, v);
    void publishStatus().catch(() => undefined);
  });
  await client.subscribeAsync(desiredTopic(options.node), { qos: 1 });
  await publishStatus();
  const beat = () =>
    setInterval(
      () => void publishStatus().catch(() => undefined),
      (options.heartbeatSeconds ?? 30) * 1000,
    ).unref();
  let heartbeat = beat();

  return {
    node: options.node,
    desired: () => received.at(-1),
    received,
    publishStatus,
    goSilent: () => clearInterval(heartbeat),
    resume: async () => {
      clearInterval(heartbeat);
      heartbeat = beat();
      await publishStatus();
    },
    stop: async () => {
      clearInterval(heartbeat);
      await client.publishAsync(statusTopic(options.node), JSON.stringify(offline), { qos: 1, retain: true });
      await client.endAsync();
    },
    crash: async () => {
      clearInterval(heartbeat);
      client.stream.destroy();
      await client.endAsync(true);
    },
  };
}
