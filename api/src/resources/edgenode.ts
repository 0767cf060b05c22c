// SPDX-License-Identifier: Apache-2.0
// EdgeNode: one device of the fleet. Cluster-scoped. Users cordon and taint it in spec (labels go
// in metadata); the operator mirrors what the device's agent reports into status.
import Type, { type Static } from 'typebox';
import { cel, validations, parseQuantity } from './cel.ts';
import { Conditions, ObjectMeta, StringEnum, Timestamp } from './common.ts';
import { API_VERSION, EDGE_NODE_KIND } from './constants.ts';
import { FunctionInstancePhase } from './wasmfunction.ts';

const strict = { additionalProperties: false } as const;

export const TaintEffect = StringEnum(['NoSchedule', 'NoExecute'], {
  description: 'NoSchedule: no new functions without a toleration. NoExecute: also stop running ones.',
});
export type TaintEffect = Static<typeof TaintEffect>;

export const Taint = Type.Object(
  {
    key: Type.String({ minLength: 1, maxLength: 317 }),
    value: Type.Optional(Type.String({ maxLength: 63 })),
    effect: TaintEffect,
    timeAdded: Type.Optional(Timestamp()),
  },
  strict,
);
export type Taint = Static<typeof Taint>;

const memoryQuantity = (field: string) =>
  Type.String({
    maxLength: 32,
    description: 'A quantity such as 256Mi.',
    ...validations(
      cel<string>(
        'isQuantity(self)',
        `${field} must be a quantity like 256Mi`,
        (s) => parseQuantity(s) !== undefined,
      ),
      cel<string>(
        "!isQuantity(self) || quantity(self).isGreaterThan(quantity('0'))",
        `${field} must be positive, e.g. 256Mi`,
        (s) => (parseQuantity(s) ?? 1) > 0,
      ),
    ),
  });

export const EdgeNodeSpec = Type.Object(
  {
    unschedulable: Type.Optional(Type.Boolean({ description: 'Cordon: place no new functions here.' })),
    taints: Type.Optional(
      Type.Array(Taint, {
        maxItems: 32,
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['key', 'effect'],
      }),
    ),
    capacity: Type.Optional(
      Type.Object(
        {
          functions: Type.Optional(
            Type.Integer({
              minimum: 0,
              maximum: 1000,
              format: 'int32',
              description: 'Most functions this device runs.',
            }),
          ),
          memory: Type.Optional(memoryQuantity('capacity.memory')),
        },
        { ...strict, description: 'Overrides what the agent reports.' },
      ),
    ),
  },
  { ...strict, description: 'What the fleet operator wants from this device.' },
);
export type EdgeNodeSpec = Static<typeof EdgeNodeSpec>;

export const EDGE_NODE_CONDITION_TYPES = [
  'Ready',
  'SensorsHealthy',
  'MemoryPressure',
  'ModuleStoreHealthy',
] as const;
export type EdgeNodeConditionType = (typeof EDGE_NODE_CONDITION_TYPES)[number];

export const EDGE_NODE_PHASES = ['Online', 'Offline', 'Unknown'] as const;
export const EdgeNodePhase = StringEnum(EDGE_NODE_PHASES);
export type EdgeNodePhase = Static<typeof EdgeNodePhase>;

export const Sensor = Type.Object(
  {
    name: Type.String({ maxLength: 63 }),
    topic: Type.Optional(Type.String({ maxLength: 256, description: 'MQTT topic the sensor publishes on.' })),
    unit: Type.Optional(Type.String({ maxLength: 32 })),
    healthy: Type.Optional(Type.Boolean()),
    lastSeen: Type.Optional(Timestamp()),
  },
  strict,
);
export type Sensor = Static<typeof Sensor>;

export const EdgeNodeFunctionStatus = Type.Object(
  {
    namespace: Type.String({ maxLength: 63 }),
    name: Type.String({ maxLength: 253 }),
    revision: Type.Optional(Type.String({ maxLength: 128 })),
    phase: FunctionInstancePhase,
    invocations: Type.Optional(Type.Integer({ minimum: 0, format: 'int64' })),
    errors: Type.Optional(Type.Integer({ minimum: 0, format: 'int64' })),
    lastError: Type.Optional(Type.String({ maxLength: 1024 })),
  },
  strict,
);
export type EdgeNodeFunctionStatus = Static<typeof EdgeNodeFunctionStatus>;

export const EdgeNodeStatus = Type.Object(
  {
    phase: Type.Optional(EdgeNodePhase),
    lastHeartbeat: Type.Optional(Timestamp()),
    agentVersion: Type.Optional(Type.String({ maxLength: 64 })),
    nodeVersion: Type.Optional(Type.String({ maxLength: 64, description: 'Node.js version of the agent.' })),
    arch: Type.Optional(Type.String({ maxLength: 32, description: 'CPU architecture, e.g. arm64.' })),
    os: Type.Optional(Type.String({ maxLength: 32 })),
    sensors: Type.Optional(
      Type.Array(Sensor, {
        maxItems: 128,
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['name'],
      }),
    ),
    sensorSummary: Type.Optional(
      Type.String({ maxLength: 256, description: 'Comma-separated sensor names, for printing.' }),
    ),
    capacity: Type.Optional(
      Type.Object(
        {
          functions: Type.Optional(Type.Integer({ minimum: 0, format: 'int32' })),
          memory: Type.Optional(Type.String({ maxLength: 32 })),
        },
        strict,
      ),
    ),
    functions: Type.Optional(
      Type.Array(EdgeNodeFunctionStatus, {
        maxItems: 1000,
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['namespace', 'name'],
      }),
    ),
    functionCount: Type.Optional(
      Type.Integer({
        minimum: 0,
        format: 'int32',
        description: 'Number of functions assigned, for printing.',
      }),
    ),
    conditions: Type.Optional(Conditions(EDGE_NODE_CONDITION_TYPES)),
  },
  { ...strict, description: "What the device's agent last reported." },
);
export type EdgeNodeStatus = Static<typeof EdgeNodeStatus>;

export const EdgeNode = Type.Object(
  {
    apiVersion: Type.Literal(API_VERSION),
    kind: Type.Literal(EDGE_NODE_KIND),
    metadata: ObjectMeta,
    spec: Type.Optional(EdgeNodeSpec),
    status: Type.Optional(EdgeNodeStatus),
  },
  { description: 'One edge or IoT device of the fleet.' },
);
export type EdgeNode = Static<typeof EdgeNode>;
