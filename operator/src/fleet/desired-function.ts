// SPDX-License-Identifier: Apache-2.0
// WasmFunction spec + what the operator resolved (module digest, config values) → the wire
// document a device receives. Pure; defaults here match the CRD's defaults.
import {
  FUNCTION_DEFAULTS,
  parseDuration,
  parseQuantity,
  type DesiredFunction,
  type ModuleSignature,
  type WasmFunctionSpec,
} from '@wasmfleet/api';
import { revisionOf, type RevisionContent } from './revision-hash.ts';

export interface ResolvedInputs {
  readonly namespace: string;
  readonly name: string;
  readonly spec: WasmFunctionSpec;
  readonly module: {
    readonly sha256: string;
    readonly size: number;
    readonly url?: string;
    /** Passed on unchanged; devices verify them with their own keys. */
    readonly signatures?: readonly ModuleSignature[];
  };
  /** spec.config merged over configMapRef and secretRef values. */
  readonly config: Readonly<Record<string, string>>;
  /** Changes the revision without changing what devices run (`wasmfleet rollout restart`). */
  readonly salt?: string;
}

export function desiredFunction(input: ResolvedInputs): DesiredFunction {
  const { spec } = input;
  const memoryBytes = parseQuantity(spec.limits?.memory ?? FUNCTION_DEFAULTS.memory);
  const timeoutMs = parseDuration(spec.limits?.timeout ?? FUNCTION_DEFAULTS.timeout);
  if (memoryBytes === undefined || timeoutMs === undefined) {
    // The CRD rejects these; reaching here means the object bypassed validation.
    throw new Error(
      `invalid limits in ${input.namespace}/${input.name}: memory=${spec.limits?.memory ?? ''} timeout=${spec.limits?.timeout ?? ''}`,
    );
  }
  const content: RevisionContent = {
    namespace: input.namespace,
    name: input.name,
    module: {
      sha256: input.module.sha256,
      size: input.module.size,
      ...(input.module.url ? { url: input.module.url } : {}),
      // Absent, not empty, when unsigned: documents (and revisions) of unsigned functions stay
      // exactly what agents without signature support accept.
      ...(input.module.signatures?.length ? { signatures: [...input.module.signatures] } : {}),
    },
    inputs: spec.inputs.map((i) => ({ topic: i.topic, qos: i.qos ?? 1, format: i.format ?? 'raw' })),
    outputs: (spec.outputs ?? []).map((o) => ({
      topic: o.topic,
      qos: o.qos ?? 1,
      retain: o.retain ?? false,
    })),
    config: sortedRecord(input.config),
    limits: {
      memoryBytes: Math.max(65_536, Math.ceil(memoryBytes)),
      timeoutMs: Math.max(1, Math.round(timeoutMs)),
    },
  };
  return { ...content, revision: revisionOf(input.salt ? { ...content, salt: input.salt } : content) };
}

function sortedRecord(record: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : 1)));
}
