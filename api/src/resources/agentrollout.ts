// SPDX-License-Identifier: Apache-2.0
// AgentRollout: which agent version the selected devices run, and how they get there — the same
// waves, health gates, pause/promote/abort and automatic rollback as a function's rollout
// (docs/adr/0032). Cluster-scoped, like EdgeNodes. Each device fetches its architecture's release
// tarball by digest, checks the release signature with the keys it was installed with, runs the
// new version beside the old one and goes back by itself when it is not healthy in time.
import Type, { type Static } from 'typebox';
import { Conditions, ObjectMeta, StringEnum, Timestamp } from './common.ts';
import { AGENT_ROLLOUT_KIND, API_VERSION } from './constants.ts';
import { LabelSelector, Rollout, RolloutStatus } from './wasmfunction.ts';

const strict = { additionalProperties: false } as const;

export const AgentArtifact = Type.Object(
  {
    arch: StringEnum(['x64', 'arm64'], { description: 'The CPU architecture, as the device reports it.' }),
    url: Type.String({
      maxLength: 2048,
      pattern: '^https?://',
      description:
        'Where devices download the release tarball (wasmfleet-agent-<version>-linux-<arch>.tar.gz).',
    }),
    sha256: Type.String({
      pattern: '^[a-f0-9]{64}$',
      maxLength: 64,
      description: 'The tarball’s digest, checked before anything else.',
    }),
    size: Type.Optional(Type.Integer({ minimum: 1, maximum: 1073741824, format: 'int64' })),
    signature: Type.Object(
      {
        keyId: Type.String({ pattern: '^[a-z0-9]([-a-z0-9._]{0,61}[a-z0-9])?$', maxLength: 63 }),
        ed25519: Type.String({
          pattern: '^[A-Za-z0-9+/]{86}==$',
          maxLength: 88,
          description:
            'Base64 of the release key’s signature of the tarball’s checksum line (the .sha256.sig file).',
        }),
      },
      strict,
    ),
  },
  strict,
);
export type AgentArtifact = Static<typeof AgentArtifact>;

export const AgentRolloutSpec = Type.Object(
  {
    version: Type.String({
      pattern: '^\\d+\\.\\d+\\.\\d+(-[0-9A-Za-z.]+)?$',
      maxLength: 64,
      description: 'The agent version the selected devices should run.',
    }),
    artifacts: Type.Array(AgentArtifact, {
      minItems: 1,
      maxItems: 4,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['arch'],
      description:
        'One release tarball per architecture (the <stem>.json release:agent writes has the fields).',
    }),
    nodeSelector: Type.Optional(LabelSelector),
    healthDeadlineSeconds: Type.Optional(
      Type.Integer({
        minimum: 10,
        maximum: 3600,
        default: 120,
        description:
          'A device goes back to its previous version unless the new one is online with its functions Running within this.',
      }),
    ),
    rollout: Type.Optional(Rollout),
    paused: Type.Optional(
      Type.Boolean({ description: 'Hold the rollout where it is (`wasmfleet rollout pause`).' }),
    ),
  },
  { ...strict, description: 'Which agent the selected devices run, and how they get there.' },
);
export type AgentRolloutSpec = Static<typeof AgentRolloutSpec>;

export const AGENT_ROLLOUT_CONDITION_TYPES = ['Progressing', 'Available'] as const;

export const AgentRolloutStatus = Type.Object(
  {
    observedGeneration: Type.Optional(Type.Integer({ minimum: 0, format: 'int64' })),
    conditions: Type.Optional(Conditions(AGENT_ROLLOUT_CONDITION_TYPES)),
    currentVersion: Type.Optional(
      Type.String({
        maxLength: 64,
        description: 'The version the devices ran before (where a rollback goes).',
      }),
    ),
    currentArtifacts: Type.Optional(
      Type.Array(AgentArtifact, {
        maxItems: 4,
        description: 'Tarballs of currentVersion, once a rollout of this resource made it current.',
      }),
    ),
    updateVersion: Type.Optional(Type.String({ maxLength: 64 })),
    targets: Type.Optional(
      Type.Integer({ minimum: 0, format: 'int32', description: 'Devices selected that can upgrade.' }),
    ),
    updated: Type.Optional(
      Type.Integer({ minimum: 0, format: 'int32', description: 'Devices running updateVersion.' }),
    ),
    skipped: Type.Optional(
      Type.Array(
        Type.Object(
          { node: Type.String({ maxLength: 253 }), reason: Type.String({ maxLength: 256 }) },
          strict,
        ),
        {
          maxItems: 100,
          description: 'Selected devices left out, and why (no supervisor, no artifact for their arch, …).',
        },
      ),
    ),
    rollout: Type.Optional(RolloutStatus),
    lastTransitionTime: Type.Optional(Timestamp()),
  },
  { ...strict, description: 'Where the agent rollout stands.' },
);
export type AgentRolloutStatus = Static<typeof AgentRolloutStatus>;

export const AgentRollout = Type.Object(
  {
    apiVersion: Type.Literal(API_VERSION),
    kind: Type.Literal(AGENT_ROLLOUT_KIND),
    metadata: ObjectMeta,
    spec: AgentRolloutSpec,
    status: Type.Optional(AgentRolloutStatus),
  },
  { description: 'An agent version rolled out to a fleet of devices.' },
);
export type AgentRollout = Static<typeof AgentRollout>;
