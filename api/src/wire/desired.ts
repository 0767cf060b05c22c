// SPDX-License-Identifier: Apache-2.0
// The desired-state document: retained on wasmfleet/v1/nodes/<node>/desired, written by the
// operator, read by the agent. It lists EVERYTHING the node should run; the agent converges on
// the latest one it saw (level-triggered), so a lost or repeated message is harmless.
import Type, { type Static } from 'typebox';
import { Compile } from 'typebox/compile';
import {
  KEY_ID_PATTERN,
  NAMESPACE_PATTERN,
  NODE_ID_PATTERN,
  OBJECT_NAME_PATTERN,
  SHA256_PATTERN,
} from './topics.ts';

const strict = { additionalProperties: false } as const;

export const WireQos = Type.Union([Type.Literal(0), Type.Literal(1)], {
  description: 'MQTT QoS: 0 at most once, 1 at least once.',
});
export const WirePayloadFormat = Type.Union(
  [Type.Literal('raw'), Type.Literal('json'), Type.Literal('senml')],
  {
    description: 'raw: arbitrary bytes; json: must parse as JSON; senml: RFC 8428 SenML JSON.',
  },
);

const BASE64 = '^[A-Za-z0-9+/]*={0,2}$';

/**
 * A detached WasmFleet signature (`wasmfleet sign`): Ed25519 over the statement
 * `signingStatement(sha256)` (api/src/signing/statement.ts, ADR 0011). `keyId` names the public
 * key the device should check it with; the device's own trust list decides whether that key counts.
 */
export const WasmfleetSignature = Type.Object(
  {
    keyId: Type.String({ pattern: KEY_ID_PATTERN, description: 'Name of the signing key.' }),
    ed25519: Type.String({
      pattern: '^[A-Za-z0-9+/]{86}==$',
      description: 'Base64 of the 64-byte Ed25519 signature.',
    }),
  },
  strict,
);
export type WasmfleetSignature = Static<typeof WasmfleetSignature>;

/**
 * A cosign signature of the OCI artifact the module came from, passed on unchanged by the
 * operator: the device checks signature → payload → manifest → wasm layer itself (ADR 0011).
 */
export const CosignSignature = Type.Object(
  {
    cosign: Type.Object(
      {
        payload: Type.String({
          pattern: BASE64,
          maxLength: 16_384,
          description: 'Base64 of the simple-signing payload (the signature layer blob).',
        }),
        signature: Type.String({
          pattern: BASE64,
          maxLength: 1024,
          description: 'Base64 signature over the payload (annotation dev.cosignproject.cosign/signature).',
        }),
        manifest: Type.String({
          pattern: BASE64,
          maxLength: 65_536,
          description: "Base64 of the artifact's manifest bytes, exactly as the registry served them.",
        }),
      },
      strict,
    ),
  },
  strict,
);
export type CosignSignature = Static<typeof CosignSignature>;

/**
 * A Sigstore bundle (v0.3, DSSE envelope) as cosign 3 attaches it to an OCI artifact by default,
 * passed on unchanged with the artifact's manifest; the device checks the chain itself.
 */
export const SigstoreBundleSignature = Type.Object(
  {
    sigstoreBundle: Type.Object(
      {
        bundle: Type.String({
          pattern: BASE64,
          maxLength: 65_536,
          description: 'Base64 of the bundle JSON (application/vnd.dev.sigstore.bundle.v0.3+json).',
        }),
        manifest: Type.String({
          pattern: BASE64,
          maxLength: 65_536,
          description: "Base64 of the artifact's manifest bytes, exactly as the registry served them.",
        }),
      },
      strict,
    ),
  },
  strict,
);
export type SigstoreBundleSignature = Static<typeof SigstoreBundleSignature>;

export const ModuleSignature = Type.Union([WasmfleetSignature, CosignSignature, SigstoreBundleSignature]);
export type ModuleSignature = Static<typeof ModuleSignature>;

/** At most this many signatures travel with one module (`module.signatures` maxItems). */
export const MAX_MODULE_SIGNATURES = 8;
const checkModuleSignature = Compile(ModuleSignature);

/**
 * True when `value` fits the wire schema. A sender drops signatures that do not: one bad entry
 * would make receivers reject the whole desired-state document, not just that signature.
 */
export function isWireModuleSignature(value: unknown): value is ModuleSignature {
  return checkModuleSignature.Check(value);
}

export const ModuleRef = Type.Object(
  {
    sha256: Type.String({
      pattern: SHA256_PATTERN,
      description: 'Digest of the module bytes; the agent verifies it before compiling.',
    }),
    size: Type.Integer({
      minimum: 8,
      description: 'Size in bytes (lets the agent refuse an oversized module before fetching it).',
    }),
    url: Type.Optional(
      Type.String({
        pattern: '^https?://',
        maxLength: 2048,
        description: 'Direct download; otherwise wasmfleet/v1/modules/<sha256>.',
      }),
    ),
    signatures: Type.Optional(
      Type.Array(ModuleSignature, {
        minItems: 1,
        maxItems: MAX_MODULE_SIGNATURES,
        description:
          'Signature material for sha256 (optional; new in v1.1). A device checks it against its own trusted keys.',
      }),
    ),
  },
  strict,
);
export type ModuleRef = Static<typeof ModuleRef>;

export const WireInput = Type.Object(
  {
    topic: Type.String({
      minLength: 1,
      maxLength: 1024,
      description: 'Topic filter; {node} expands to the node id.',
    }),
    qos: WireQos,
    format: WirePayloadFormat,
  },
  strict,
);
export type WireInput = Static<typeof WireInput>;

export const WireOutput = Type.Object(
  {
    topic: Type.String({
      minLength: 1,
      maxLength: 1024,
      description: 'Topic name; {node} expands to the node id.',
    }),
    qos: WireQos,
    retain: Type.Boolean(),
  },
  strict,
);
export type WireOutput = Static<typeof WireOutput>;

export const WireLimits = Type.Object(
  {
    memoryBytes: Type.Integer({
      minimum: 65_536,
      maximum: 4 * 1024 ** 3,
      description: 'Linear-memory cap of one instance.',
    }),
    timeoutMs: Type.Integer({ minimum: 1, maximum: 60_000, description: 'Deadline of one invocation.' }),
    maxModuleBytes: Type.Optional(
      Type.Integer({ minimum: 8, description: 'Largest accepted module (agent default 32 MiB).' }),
    ),
    maxPayloadBytes: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 1024 * 1024,
        description: 'Larger inputs are counted as malformed (default 256 KiB).',
      }),
    ),
  },
  strict,
);
export type WireLimits = Static<typeof WireLimits>;

export const DesiredFunction = Type.Object(
  {
    namespace: Type.String({
      minLength: 1,
      maxLength: 63,
      pattern: NAMESPACE_PATTERN,
      description: 'The WasmFunction’s namespace (a Kubernetes namespace name).',
    }),
    name: Type.String({
      minLength: 1,
      maxLength: 253,
      pattern: OBJECT_NAME_PATTERN,
      description: 'The WasmFunction’s name (a Kubernetes object name).',
    }),
    revision: Type.String({
      minLength: 1,
      maxLength: 128,
      description: 'Changes whenever anything below changes; the agent replaces the function.',
    }),
    module: ModuleRef,
    inputs: Type.Array(WireInput, { minItems: 1, maxItems: 32 }),
    outputs: Type.Array(WireOutput, { maxItems: 32 }),
    config: Type.Record(Type.String(), Type.String(), {
      description: 'Resolved config (spec.config + configMapRef + secretRef).',
    }),
    limits: WireLimits,
  },
  strict,
);
export type DesiredFunction = Static<typeof DesiredFunction>;

export const DesiredState = Type.Object(
  {
    version: Type.Literal(1),
    node: Type.String({ pattern: NODE_ID_PATTERN }),
    generation: Type.Integer({
      minimum: 0,
      description: 'Increases with every change; an agent ignores a document older than one it has applied.',
    }),
    functions: Type.Array(DesiredFunction, { maxItems: 256 }),
  },
  {
    ...strict,
    $id: 'https://wasmfleet.io/schemas/wire/v1/desired-state.json',
    title: 'WasmFleet desired state v1',
  },
);
export type DesiredState = Static<typeof DesiredState>;
