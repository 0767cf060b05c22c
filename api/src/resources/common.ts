// SPDX-License-Identifier: Apache-2.0
// Building blocks shared by the WasmFunction and EdgeNode schemas.
import Type, { type Static, type TSchemaOptions } from 'typebox';

/** A string that must be one of `values` (emitted as a plain `enum`, never as `anyOf`). */
export function StringEnum<const V extends readonly string[]>(values: V, options: TSchemaOptions = {}) {
  return Type.Unsafe<V[number]>({ ...options, type: 'string', enum: [...values] });
}

/** An integer that must be one of `values`. */
export function IntegerEnum<const V extends readonly number[]>(values: V, options: TSchemaOptions = {}) {
  return Type.Unsafe<V[number]>({ ...options, type: 'integer', enum: [...values] });
}

/** Kubernetes' int-or-string (e.g. maxUnavailable: 1 or "25%"). */
export function IntOrString(options: TSchemaOptions = {}) {
  return Type.Unsafe<number | string>({
    ...options,
    'x-kubernetes-int-or-string': true,
    anyOf: [{ type: 'integer' }, { type: 'string' }],
  });
}

/** A map of string to string, as Kubernetes writes labels and config. */
export function StringMap(options: TSchemaOptions = {}, valueOptions: TSchemaOptions = {}) {
  return Type.Unsafe<Record<string, string>>({
    ...options,
    type: 'object',
    additionalProperties: { ...valueOptions, type: 'string' },
  });
}

/** RFC 3339 timestamp as the API server stores it. */
export function Timestamp(options: TSchemaOptions = {}) {
  return Type.String({ ...options, format: 'date-time' });
}

/** A DNS-1123 subdomain name of an object in the same namespace. */
export const ObjectName = Type.String({
  minLength: 1,
  maxLength: 253,
  description: 'Name of an object in the same namespace.',
});

export const LocalObjectReference = Type.Object(
  { name: ObjectName },
  { additionalProperties: false, description: 'A reference to an object in the same namespace.' },
);
export type LocalObjectReference = Static<typeof LocalObjectReference>;

/**
 * The metadata a client sees. The CRD schema replaces it with `{type: object}` because the API
 * server validates ObjectMeta itself.
 */
export const ObjectMeta = Type.Object({
  name: Type.Optional(Type.String()),
  generateName: Type.Optional(Type.String()),
  namespace: Type.Optional(Type.String()),
  labels: Type.Optional(StringMap()),
  annotations: Type.Optional(StringMap()),
  uid: Type.Optional(Type.String()),
  resourceVersion: Type.Optional(Type.String()),
  generation: Type.Optional(Type.Integer()),
  creationTimestamp: Type.Optional(Type.String()),
  deletionTimestamp: Type.Optional(Type.String()),
  finalizers: Type.Optional(Type.Array(Type.String())),
});
export type ObjectMeta = Static<typeof ObjectMeta>;

export const ConditionStatus = StringEnum(['True', 'False', 'Unknown']);
export type ConditionStatus = Static<typeof ConditionStatus>;

/** The shape of metav1.Condition, so generic Kubernetes tooling (kubectl wait) understands it. */
export function ConditionSchema(types: readonly string[]) {
  return Type.Object(
    {
      type: Type.String({
        maxLength: 316,
        description: `Condition type; WasmFleet sets ${types.join(', ')}.`,
      }),
      status: ConditionStatus,
      observedGeneration: Type.Optional(Type.Integer({ minimum: 0, format: 'int64' })),
      lastTransitionTime: Timestamp(),
      reason: Type.String({ maxLength: 1024, description: 'CamelCase reason for the last transition.' }),
      message: Type.String({ maxLength: 32768, description: 'Human-readable details.' }),
    },
    { additionalProperties: false },
  );
}

/** Status list of conditions keyed by type (`x-kubernetes-list-type: map`). */
export function Conditions(types: readonly string[]) {
  return Type.Array(ConditionSchema(types), {
    maxItems: 32,
    'x-kubernetes-list-type': 'map',
    'x-kubernetes-list-map-keys': ['type'],
    description: 'Standard Kubernetes conditions.',
  });
}

/** One problem found by client-side validation. `path` is dotted, e.g. spec.inputs[1].topic. */
export interface ValidationIssue {
  path: string;
  message: string;
}
