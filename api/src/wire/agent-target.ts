// SPDX-License-Identifier: Apache-2.0
// The agent version a device should run: retained, QoS 1, operator → agent, on
// `wasmfleet/v1/nodes/<node>/agent` (docs/adr/0032). Empty (cleared) means "no instruction: keep
// running what you run". Agents that cannot upgrade themselves never subscribe to it. The device
// reports how an upgrade went in its status (`agentUpgrade`).
import Type, { type Static } from 'typebox';
import { NODE_ID_PATTERN, WIRE_PREFIX, isNodeId } from './topics.ts';

const strict = { additionalProperties: false } as const;

export function agentTargetTopic(node: string): string {
  if (!isNodeId(node)) throw new Error(`invalid node id ${JSON.stringify(node)}`);
  return `${WIRE_PREFIX}/nodes/${node}/agent`;
}

export const AGENT_TARGET_FILTER = `${WIRE_PREFIX}/nodes/+/agent`;

export const AgentTarget = Type.Object(
  {
    version: Type.Literal(1),
    node: Type.String({ pattern: NODE_ID_PATTERN }),
    agent: Type.Object(
      {
        version: Type.String({ maxLength: 64 }),
        /** Online with its functions Running within this, or the device goes back. */
        deadlineSeconds: Type.Integer({ minimum: 1, maximum: 3600 }),
        /** Absent when the device has this version already (going back to one it ran). */
        artifact: Type.Optional(
          Type.Object(
            {
              url: Type.String({ maxLength: 2048 }),
              sha256: Type.String({ pattern: '^[a-f0-9]{64}$' }),
              size: Type.Optional(Type.Integer({ minimum: 1 })),
              keyId: Type.String({ maxLength: 63 }),
              ed25519: Type.String({ pattern: '^[A-Za-z0-9+/]{86}==$' }),
            },
            strict,
          ),
        ),
      },
      strict,
    ),
  },
  {
    ...strict,
    $id: 'https://wasmfleet.io/schemas/wire/v1/agent-target.json',
    title: 'WasmFleet agent target v1',
  },
);
export type AgentTarget = Static<typeof AgentTarget>;

export const AGENT_UPGRADE_PHASES = ['Installing', 'Trial', 'RolledBack', 'Failed'] as const;

/** In the node status: whether this agent can upgrade itself, and how its last upgrade went. */
export const AgentUpgradeReport = Type.Object(
  {
    supported: Type.Boolean({ description: 'Runs under the supervisor with a place to install versions.' }),
    version: Type.Optional(
      Type.String({ maxLength: 64, description: 'The version the operator asked for.' }),
    ),
    phase: Type.Optional(
      Type.Union([
        Type.Literal('Installing'),
        Type.Literal('Trial'),
        Type.Literal('RolledBack'),
        Type.Literal('Failed'),
      ]),
    ),
    reason: Type.Optional(Type.String({ maxLength: 64 })),
    message: Type.Optional(Type.String({ maxLength: 1024 })),
    at: Type.Optional(Type.String({ format: 'date-time' })),
  },
  strict,
);
export type AgentUpgradeReport = Static<typeof AgentUpgradeReport>;
