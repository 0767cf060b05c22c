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
    key: Type.String({
      minLength: 1,
      maxLength: 317,
      description: 'What the taint is about, e.g. maintenance or site/flooded; a toleration names it.',
    }),
    value: Type.Optional(
      Type.String({
        maxLength: 63,
        description: 'Optional value a toleration with operator Equal must match.',
      }),
    ),
    effect: TaintEffect,
    timeAdded: Type.Optional(Timestamp({ description: 'When the taint was added (informational).' })),
  },
  {
    ...strict,
    description:
      'Keeps functions off this device unless they tolerate it (spec.placement.tolerations of a WasmFunction).',
  },
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
        description:
          "Taints, like a Node's: functions without a matching toleration are not placed here (NoSchedule) or are also removed (NoExecute). One entry per key and effect.",
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

/**
 * Whether the device is connected is `Online`, not `Ready`: tools that wait for a release or a
 * sync to settle (Helm 4's `--wait`, Flux — kstatus) read a custom resource's Ready=False as
 * "still in progress", and a device that is switched off is not something to wait for; an
 * upgrade of the chart hung until its timeout while any registered device was offline.
 */
export const EDGE_NODE_CONDITION_TYPES = [
  'Online',
  'SensorsHealthy',
  'MemoryPressure',
  'ModuleStoreHealthy',
] as const;
export type EdgeNodeConditionType = (typeof EDGE_NODE_CONDITION_TYPES)[number];

export const EDGE_NODE_PHASES = ['Online', 'Offline', 'Unknown'] as const;
export const EdgeNodePhase = StringEnum(EDGE_NODE_PHASES, {
  description:
    'Online: the agent is connected and sent a heartbeat recently. Offline: its broker connection ended (last will) or heartbeats stopped. Unknown: nothing heard yet.',
});
export type EdgeNodePhase = Static<typeof EdgeNodePhase>;

export const Sensor = Type.Object(
  {
    name: Type.String({
      maxLength: 63,
      description: 'Sensor name, e.g. temperature (spec.placement.sensors matches it).',
    }),
    topic: Type.Optional(Type.String({ maxLength: 256, description: 'MQTT topic the sensor publishes on.' })),
    unit: Type.Optional(
      Type.String({ maxLength: 32, description: 'Unit of its readings, e.g. Cel or %RH.' }),
    ),
    healthy: Type.Optional(Type.Boolean({ description: 'False when the sensor stopped sending readings.' })),
    lastSeen: Type.Optional(Timestamp({ description: 'When its last reading arrived.' })),
  },
  { ...strict, description: 'A sensor the agent reports.' },
);
export type Sensor = Static<typeof Sensor>;

export const EdgeNodeFunctionStatus = Type.Object(
  {
    namespace: Type.String({ maxLength: 63, description: "The WasmFunction's namespace." }),
    name: Type.String({ maxLength: 253, description: "The WasmFunction's name." }),
    revision: Type.Optional(Type.String({ maxLength: 128, description: 'The revision this device runs.' })),
    phase: FunctionInstancePhase,
    reason: Type.Optional(
      Type.String({
        maxLength: 64,
        description: "Why it fails: the agent's reason (Trap, MissingImport, …) or CallsFailing.",
      }),
    ),
    invocations: Type.Optional(
      Type.Integer({ minimum: 0, format: 'int64', description: 'Calls since the function started here.' }),
    ),
    errors: Type.Optional(
      Type.Integer({
        minimum: 0,
        format: 'int64',
        description: 'Calls that failed (trap, deadline, error result).',
      }),
    ),
    lastError: Type.Optional(
      Type.String({ maxLength: 1024, description: 'The last failure, as the agent reported it.' }),
    ),
  },
  { ...strict, description: 'One function on this device, as its agent reports it.' },
);
export type EdgeNodeFunctionStatus = Static<typeof EdgeNodeFunctionStatus>;

/** A function failing on this device: what the EdgeNode summary lists (ADR 0023). */
export const EdgeNodeFailingFunction = Type.Object(
  {
    namespace: Type.String({ maxLength: 63, description: "The WasmFunction's namespace." }),
    name: Type.String({ maxLength: 253, description: "The WasmFunction's name." }),
    phase: FunctionInstancePhase,
    reason: Type.Optional(
      Type.String({
        maxLength: 64,
        description: "Why it fails: the agent's reason (Trap, MissingImport, …) or CallsFailing.",
      }),
    ),
  },
  strict,
);
export type EdgeNodeFailingFunction = Static<typeof EdgeNodeFailingFunction>;

export const MAX_FAILING_LISTED = 10;

export const EdgeNodeStatus = Type.Object(
  {
    phase: Type.Optional(EdgeNodePhase),
    lastHeartbeat: Type.Optional(
      Timestamp({
        description:
          "No longer written (ADR 0023): heartbeats stay in MQTT. The device's retained status has heartbeatAt; the Online condition says since when it is online or offline.",
      }),
    ),
    agentVersion: Type.Optional(
      Type.String({ maxLength: 64, description: 'Version of the WasmFleet agent.' }),
    ),
    nodeVersion: Type.Optional(Type.String({ maxLength: 64, description: 'Node.js version of the agent.' })),
    arch: Type.Optional(Type.String({ maxLength: 32, description: 'CPU architecture, e.g. arm64.' })),
    os: Type.Optional(Type.String({ maxLength: 32, description: 'Operating system, e.g. linux.' })),
    sensors: Type.Optional(
      Type.Array(Sensor, {
        maxItems: 128,
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['name'],
        description: 'Sensors the agent reads or has seen readings for (at most 128).',
      }),
    ),
    sensorSummary: Type.Optional(
      Type.String({ maxLength: 256, description: 'Comma-separated sensor names, for printing.' }),
    ),
    capacity: Type.Optional(
      Type.Object(
        {
          functions: Type.Optional(
            Type.Integer({ minimum: 0, format: 'int32', description: 'Most functions the device runs.' }),
          ),
          memory: Type.Optional(
            Type.String({ maxLength: 32, description: 'Memory for functions, a quantity such as 256Mi.' }),
          ),
        },
        { ...strict, description: 'What the device can run (spec.capacity overrides it).' },
      ),
    ),
    functions: Type.Optional(
      Type.Array(EdgeNodeFunctionStatus, {
        maxItems: 1000,
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['namespace', 'name'],
        description:
          "No longer written (ADR 0023): per-function detail (revision, phase, calls, errors) lives in the device's retained MQTT status, which `wasmfleet describe node` reads; `failing` lists the functions that fail.",
      }),
    ),
    functionCount: Type.Optional(
      Type.Integer({
        minimum: 0,
        format: 'int32',
        description:
          "No longer written (ADR 0023): it changed on every device when a function was placed fleet-wide. `wasmfleet get nodes --broker` counts them from each device's retained status.",
      }),
    ),
    failingCount: Type.Optional(
      Type.Integer({
        minimum: 0,
        format: 'int32',
        description:
          'Functions failing on the device: Failed, CrashLoopBackOff, or most recent calls failing.',
      }),
    ),
    failing: Type.Optional(
      Type.Array(EdgeNodeFailingFunction, {
        maxItems: MAX_FAILING_LISTED,
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['namespace', 'name'],
        description: `The failing functions, at most ${MAX_FAILING_LISTED}.`,
      }),
    ),
    conditions: Type.Optional(Conditions(EDGE_NODE_CONDITION_TYPES)),
    agentUpgrade: Type.Optional(
      Type.Object(
        {
          supported: Type.Boolean({
            description: 'The agent can upgrade itself (it runs under the supervisor).',
          }),
          version: Type.Optional(
            Type.String({ maxLength: 64, description: 'The agent version the AgentRollout asked for.' }),
          ),
          phase: Type.Optional(
            StringEnum(['Installing', 'Trial', 'RolledBack', 'Failed'], {
              description:
                'Installing (downloading and checking it), Trial (running it until it proves healthy), RolledBack (back on the previous version) or Failed (not installed).',
            }),
          ),
          reason: Type.Optional(
            Type.String({
              maxLength: 64,
              description: 'Why, in one word (e.g. SignatureInvalid, Unhealthy).',
            }),
          ),
          message: Type.Optional(
            Type.String({ maxLength: 1024, description: 'What happened, for a human.' }),
          ),
          at: Type.Optional(Timestamp({ description: 'When the phase last changed.' })),
        },
        { ...strict, description: 'How the last agent upgrade went (AgentRollout).' },
      ),
    ),
  },
  { ...strict, description: "What the device's agent last reported." },
);
export type EdgeNodeStatus = Static<typeof EdgeNodeStatus>;

/** One condition of an EdgeNode's status, by a type the operator sets (typed: no misspelling). */
export function nodeCondition(
  status: EdgeNodeStatus | undefined,
  type: EdgeNodeConditionType,
): NonNullable<EdgeNodeStatus['conditions']>[number] | undefined {
  return status?.conditions?.find((c) => c.type === type);
}

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
