// SPDX-License-Identifier: Apache-2.0
// The node status document: retained on wasmfleet/v1/nodes/<node>/status, written by the agent
// on every change and every heartbeat; the same topic carries the retained last will
// `{version:1, node, state:"offline"}`, so the broker marks a vanished device offline.
import Type, { type Static } from 'typebox';
import { NODE_ID_PATTERN } from './topics.ts';

const strict = { additionalProperties: false } as const;

export const FUNCTION_PHASES = [
  'Pending',
  'Fetching',
  'Starting',
  'Running',
  'Failed',
  'CrashLoopBackOff',
] as const;
export const WireFunctionPhase = Type.Union([
  Type.Literal('Pending'),
  Type.Literal('Fetching'),
  Type.Literal('Starting'),
  Type.Literal('Running'),
  Type.Literal('Failed'),
  Type.Literal('CrashLoopBackOff'),
]);
export type WireFunctionPhase = (typeof FUNCTION_PHASES)[number];

export const FunctionStatusReport = Type.Object(
  {
    namespace: Type.String(),
    name: Type.String(),
    revision: Type.String(),
    phase: WireFunctionPhase,
    reason: Type.Optional(
      Type.String({
        description: 'Why it is not Running: Timeout, Trap, MissingImport, DigestMismatch, FetchFailed, …',
      }),
    ),
    message: Type.Optional(Type.String({ maxLength: 1024 })),
    since: Type.String({ format: 'date-time', description: 'When the phase last changed.' }),
    restarts: Type.Integer({ minimum: 0 }),
    nextRetryAt: Type.Optional(Type.String({ format: 'date-time' })),
    invocations: Type.Integer({ minimum: 0 }),
    errors: Type.Integer({ minimum: 0 }),
    malformed: Type.Integer({
      minimum: 0,
      description: 'Inputs refused before the call: bad JSON/SenML, oversize.',
    }),
    latencyP50Us: Type.Optional(Type.Number({ minimum: 0 })),
    latencyP99Us: Type.Optional(Type.Number({ minimum: 0 })),
    lastError: Type.Optional(Type.String({ maxLength: 1024 })),
  },
  strict,
);
export type FunctionStatusReport = Static<typeof FunctionStatusReport>;

export const SensorReport = Type.Object(
  {
    name: Type.String({ maxLength: 63 }),
    topic: Type.Optional(Type.String({ maxLength: 1024 })),
    lastSeen: Type.Optional(Type.String({ format: 'date-time' })),
  },
  strict,
);
export type SensorReport = Static<typeof SensorReport>;

export const OutputBufferReport = Type.Object(
  {
    messages: Type.Integer({
      minimum: 0,
      description: 'Outputs waiting for the broker: queued while disconnected or awaiting a PUBACK.',
    }),
    bytes: Type.Integer({ minimum: 0 }),
    maxMessages: Type.Integer({ minimum: 1 }),
    maxBytes: Type.Integer({ minimum: 1 }),
    dropped: Type.Integer({
      minimum: 0,
      description: 'Outputs refused since the agent started because the buffer was full (newest dropped).',
    }),
    droppedBytes: Type.Integer({ minimum: 0 }),
  },
  strict,
);
export type OutputBufferReport = Static<typeof OutputBufferReport>;

export const NodeStatus = Type.Object(
  {
    version: Type.Literal(1),
    node: Type.String({ pattern: NODE_ID_PATTERN }),
    state: Type.Union([Type.Literal('online'), Type.Literal('offline')]),
    // Everything below is absent in the last will.
    agentVersion: Type.Optional(Type.String()),
    nodeVersion: Type.Optional(Type.String()),
    arch: Type.Optional(Type.String()),
    os: Type.Optional(Type.String()),
    startedAt: Type.Optional(Type.String({ format: 'date-time' })),
    heartbeatAt: Type.Optional(Type.String({ format: 'date-time' })),
    heartbeatIntervalSeconds: Type.Optional(Type.Integer({ minimum: 1 })),
    observedGeneration: Type.Optional(Type.Integer({ minimum: 0 })),
    sensors: Type.Optional(Type.Array(SensorReport, { maxItems: 128 })),
    capacity: Type.Optional(
      Type.Object(
        {
          maxFunctions: Type.Integer({ minimum: 0 }),
          memoryBytes: Type.Integer({
            minimum: 0,
            description: 'Linear memory the node offers functions in total.',
          }),
          runtimes: Type.Array(Type.Union([Type.Literal('core'), Type.Literal('component')])),
        },
        strict,
      ),
    ),
    outputBuffer: Type.Optional(OutputBufferReport),
    functions: Type.Optional(Type.Array(FunctionStatusReport, { maxItems: 256 })),
  },
  {
    ...strict,
    $id: 'https://wasmfleet.io/schemas/wire/v1/node-status.json',
    title: 'WasmFleet node status v1',
  },
);
export type NodeStatus = Static<typeof NodeStatus>;
