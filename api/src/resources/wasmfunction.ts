// SPDX-License-Identifier: Apache-2.0
// WasmFunction: a WebAssembly function, where it runs, what it reads and writes, and how new
// versions roll out. Namespaced. Each rule carries a message that says what to fix.
import Type, { type Static } from 'typebox';
import { cel, validations, parseDuration, parseQuantity, DURATION_PATTERN } from './cel.ts';
import {
  Conditions,
  IntOrString,
  IntegerEnum,
  LocalObjectReference,
  ObjectMeta,
  ObjectName,
  StringEnum,
  StringMap,
  Timestamp,
} from './common.ts';
import { API_VERSION, FUNCTION_DEFAULTS, LIMITS, WASM_FUNCTION_KIND } from './constants.ts';
import { KEY_ID_PATTERN } from '../wire/topics.ts';

const strict = { additionalProperties: false } as const;
const has = (o: object, key: string): boolean => Object.hasOwn(o, key);

// ---------------------------------------------------------------- module

const SHA256_RE = /^[0-9a-f]{64}$/;
const KEY_ID_RE = new RegExp(KEY_ID_PATTERN);
const ED25519_SIGNATURE_RE = /^[A-Za-z0-9+/]{86}==$/;

const KeyId = (what: string) =>
  Type.String({
    maxLength: 63,
    description: 'Name of a signing key: a device trusts it when it holds <keyId>.pub.',
    ...validations(
      cel<string>(
        `self.matches('${KEY_ID_PATTERN}')`,
        `${what} must be a key name: lower-case letters, digits, '-', '.' and '_', starting and ending with a letter or digit (e.g. release-2026)`,
        (s) => KEY_ID_RE.test(s),
      ),
    ),
  });

/** A detached WasmFleet signature, as `wasmfleet sign` prints it (ADR 0011). */
export const ModuleSignatureSpec = Type.Object(
  {
    keyId: KeyId('module.signatures[].keyId'),
    ed25519: Type.String({
      maxLength: 88,
      description: "Base64 Ed25519 signature of the module's signing statement (`wasmfleet sign`).",
      ...validations(
        cel<string>(
          "self.matches('^[A-Za-z0-9+/]{86}==$')",
          'module.signatures[].ed25519 must be the 88-character base64 signature `wasmfleet sign` prints',
          (s) => ED25519_SIGNATURE_RE.test(s),
        ),
      ),
    }),
  },
  {
    ...strict,
    description: 'A signature of the module by one key; devices verify it with their own copy of the key.',
  },
);
export type ModuleSignatureSpec = Static<typeof ModuleSignatureSpec>;

export const SIGNATURE_MODES = ['Required', 'None'] as const;

export const ModuleVerification = Type.Object(
  {
    mode: Type.Optional(
      StringEnum(SIGNATURE_MODES, {
        description:
          "Required: deliver the module only with a signature (by one of keys, when listed). None: do not ask for one. Default: the operator's --module-signatures policy. Devices apply their own policy either way.",
      }),
    ),
    keys: Type.Optional(
      Type.Array(KeyId('module.verify.keys[]'), {
        minItems: 1,
        maxItems: 8,
        'x-kubernetes-list-type': 'set',
        description: 'Key names one of which must have signed the module (module.signatures keyId).',
      }),
    ),
  },
  {
    ...strict,
    description: 'Signature policy of this function, on top of what each device requires.',
    ...validations(
      cel<Record<string, unknown>>(
        "!has(self.keys) || !has(self.mode) || self.mode != 'None'",
        'module.verify.keys names required keys but mode is None: remove keys or set mode: Required',
        (s) => !has(s, 'keys') || s.mode !== 'None',
        { fieldPath: '.keys', reason: 'FieldValueForbidden' },
      ),
    ),
  },
);
export type ModuleVerification = Static<typeof ModuleVerification>;

export const ModuleSource = Type.Object(
  {
    url: Type.Optional(
      Type.String({
        maxLength: 2048,
        description: 'HTTP(S) URL of the .wasm file. Requires sha256.',
        ...validations(
          cel<string>(
            "self.startsWith('https://') || self.startsWith('http://')",
            'module.url must be an http:// or https:// URL',
            (s) => s.startsWith('https://') || s.startsWith('http://'),
          ),
        ),
      }),
    ),
    oci: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 1024,
        description:
          'OCI artifact reference, e.g. registry.example/acme/temp-alert:1.4.0 or …@sha256:<digest>.',
        ...validations(
          cel<string>(
            "!self.contains('://')",
            'module.oci is an image reference without a scheme: write registry.example/org/name:tag, not oci://…',
            (s) => !s.includes('://'),
          ),
        ),
      }),
    ),
    configMap: Type.Optional(
      Type.Object(
        {
          name: ObjectName,
          key: Type.String({
            minLength: 1,
            maxLength: 253,
            pattern: '^[-._a-zA-Z0-9]+$',
            description: "Key in the ConfigMap's binaryData (or data) that holds the module.",
          }),
        },
        { ...strict, description: 'A module stored in a ConfigMap in the same namespace.' },
      ),
    ),
    sha256: Type.Optional(
      Type.String({
        maxLength: 128,
        description:
          'Lowercase hex SHA-256 of the module. Required with url; pins oci/configMap sources when set.',
        ...validations(
          cel<string>(
            "self.matches('^[0-9a-f]{64}$')",
            'module.sha256 must be 64 lowercase hex characters (the output of sha256sum, without a sha256: prefix)',
            (s) => SHA256_RE.test(s),
          ),
        ),
      }),
    ),
    pullSecretRef: Type.Optional(LocalObjectReference),
    signatures: Type.Optional(
      Type.Array(ModuleSignatureSpec, {
        maxItems: 4,
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['keyId'],
        description:
          'Detached signatures of the module (`wasmfleet sign`), at most one per key. OCI modules may instead carry a cosign signature in the registry.',
      }),
    ),
    verify: Type.Optional(ModuleVerification),
  },
  {
    ...strict,
    description: 'Where the .wasm module comes from: exactly one of url, oci or configMap.',
    ...validations(
      cel<Record<string, unknown>>(
        'has(self.url) || has(self.oci) || has(self.configMap)',
        'module needs a source: set one of module.url (with module.sha256), module.oci or module.configMap',
        (s) => has(s, 'url') || has(s, 'oci') || has(s, 'configMap'),
        { reason: 'FieldValueRequired' },
      ),
      cel<Record<string, unknown>>(
        '(has(self.url) ? 1 : 0) + (has(self.oci) ? 1 : 0) + (has(self.configMap) ? 1 : 0) <= 1',
        'module sources are exclusive: set only one of module.url, module.oci or module.configMap',
        (s) => ['url', 'oci', 'configMap'].filter((k) => has(s, k)).length <= 1,
      ),
      cel<Record<string, unknown>>(
        '!has(self.url) || has(self.sha256)',
        'module.sha256 is required with module.url: set it to the SHA-256 of the .wasm file (sha256sum module.wasm)',
        (s) => !has(s, 'url') || has(s, 'sha256'),
        { fieldPath: '.sha256', reason: 'FieldValueRequired' },
      ),
      cel<Record<string, unknown>>(
        '!has(self.pullSecretRef) || has(self.oci)',
        'module.pullSecretRef is only used with module.oci; remove it',
        (s) => !has(s, 'pullSecretRef') || has(s, 'oci'),
        { fieldPath: '.pullSecretRef', reason: 'FieldValueForbidden' },
      ),
    ),
  },
);
export type ModuleSource = Static<typeof ModuleSource>;

// ---------------------------------------------------------------- placement

export const LabelSelectorRequirement = Type.Object(
  {
    key: Type.String({
      minLength: 1,
      maxLength: 317,
      description: 'The label key the requirement is about.',
    }),
    operator: StringEnum(['In', 'NotIn', 'Exists', 'DoesNotExist'], {
      description: "How the label's value is compared with values.",
    }),
    values: Type.Optional(
      Type.Array(Type.String({ maxLength: 63 }), {
        maxItems: 64,
        'x-kubernetes-list-type': 'atomic',
        description: 'Label values; non-empty for In and NotIn, absent for Exists and DoesNotExist.',
      }),
    ),
  },
  {
    ...strict,
    description: 'A label requirement, as in a Kubernetes label selector.',
    ...validations(
      cel<{ operator: string; values?: string[] }>(
        "(self.operator in ['In', 'NotIn']) == (has(self.values) && size(self.values) > 0)",
        'matchExpressions: operators In and NotIn need a non-empty values list; Exists and DoesNotExist take no values',
        (s) => ['In', 'NotIn'].includes(s.operator) === (s.values !== undefined && s.values.length > 0),
        { fieldPath: '.values' },
      ),
    ),
  },
);

export const LabelSelector = Type.Object(
  {
    matchLabels: Type.Optional(
      StringMap(
        { maxProperties: 64, description: 'Labels an EdgeNode must carry, key: value (all of them).' },
        { maxLength: 63 },
      ),
    ),
    matchExpressions: Type.Optional(
      Type.Array(LabelSelectorRequirement, {
        maxItems: 32,
        'x-kubernetes-list-type': 'atomic',
        description: 'Label requirements an EdgeNode must meet (all of them).',
      }),
    ),
  },
  { ...strict, description: 'Selects EdgeNodes by label, like a Kubernetes label selector.' },
);
export type LabelSelector = Static<typeof LabelSelector>;

export const Toleration = Type.Object(
  {
    key: Type.Optional(
      Type.String({
        maxLength: 317,
        description: 'Taint key; empty with operator Exists tolerates every taint.',
      }),
    ),
    operator: Type.Optional(
      StringEnum(['Equal', 'Exists'], {
        default: 'Equal',
        description: "Equal: the taint's value must equal value. Exists: any value (leave value out).",
      }),
    ),
    value: Type.Optional(
      Type.String({ maxLength: 63, description: 'The taint value to match (operator Equal).' }),
    ),
    effect: Type.Optional(
      StringEnum(['NoSchedule', 'NoExecute'], { description: 'Empty matches every effect.' }),
    ),
  },
  {
    ...strict,
    ...validations(
      cel<{ operator?: string; value?: string }>(
        "self.operator != 'Exists' || !has(self.value)",
        'a toleration with operator: Exists matches any value; remove value',
        (s) => s.operator !== 'Exists' || s.value === undefined,
        { fieldPath: '.value', reason: 'FieldValueForbidden' },
      ),
    ),
  },
);
export type Toleration = Static<typeof Toleration>;

export const PlacementMode = StringEnum(['Every', 'Replicas'], {
  default: 'Every',
  description:
    'Every: run on every matching device. Replicas: run on `replicas` matching devices, spread by `spread`.',
});
export type PlacementMode = Static<typeof PlacementMode>;

export const Placement = Type.Object(
  {
    nodeSelector: Type.Optional(LabelSelector),
    sensors: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 63 }), {
        maxItems: LIMITS.maxSensors,
        'x-kubernetes-list-type': 'set',
        description: 'Only devices that report every one of these sensors are chosen.',
      }),
    ),
    mode: Type.Optional(PlacementMode),
    replicas: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 100_000,
        format: 'int32',
        description: 'Number of devices (mode Replicas only).',
      }),
    ),
    spread: Type.Optional(
      Type.Object(
        {
          topologyKey: Type.String({
            minLength: 1,
            maxLength: 317,
            description: 'Node label whose values replicas are spread across, e.g. site.',
          }),
          maxSkew: Type.Optional(
            Type.Integer({
              minimum: 1,
              default: 1,
              format: 'int32',
              description: 'Most replicas one label value may have beyond the least-used value.',
            }),
          ),
        },
        { ...strict, description: 'Spread replicas across the values of a node label (mode Replicas only).' },
      ),
    ),
    tolerations: Type.Optional(
      Type.Array(Toleration, {
        maxItems: 32,
        'x-kubernetes-list-type': 'atomic',
        description:
          'Taints of EdgeNodes (spec.taints) this function tolerates; a device with a taint none of them matches is not chosen.',
      }),
    ),
  },
  {
    ...strict,
    description: 'Which EdgeNodes run the function.',
    ...validations(
      cel<{ mode?: string; replicas?: number }>(
        "!has(self.replicas) || (has(self.mode) && self.mode == 'Replicas')",
        'placement.replicas is only allowed with placement.mode: Replicas; remove replicas or set mode: Replicas',
        (s) => s.replicas === undefined || s.mode === 'Replicas',
        { fieldPath: '.replicas', reason: 'FieldValueForbidden' },
      ),
      cel<{ mode?: string; spread?: object }>(
        "!has(self.spread) || (has(self.mode) && self.mode == 'Replicas')",
        'placement.spread is only allowed with placement.mode: Replicas; remove spread or set mode: Replicas',
        (s) => s.spread === undefined || s.mode === 'Replicas',
        { fieldPath: '.spread', reason: 'FieldValueForbidden' },
      ),
      cel<{ mode?: string; replicas?: number }>(
        "!has(self.mode) || self.mode != 'Replicas' || has(self.replicas)",
        'placement.mode: Replicas needs placement.replicas (how many devices run the function)',
        (s) => s.mode !== 'Replicas' || s.replicas !== undefined,
        { fieldPath: '.replicas', reason: 'FieldValueRequired' },
      ),
    ),
  },
);
export type Placement = Static<typeof Placement>;

// ---------------------------------------------------------------- topics

// MQTT forbids U+0000 in topics; a broker drops the connection of a client that sends one.
const noNulInTopic = cel<string>(
  "!self.contains('\\u0000')",
  'topics cannot contain the NUL character (U+0000); remove it',
  (s) => !s.includes('\u0000'),
);

const reservedTopic = cel<string>(
  "!self.startsWith('wasmfleet/') && !self.startsWith('$')",
  "topics under wasmfleet/ (WasmFleet's control traffic) and topics starting with $ (broker-internal) are reserved; pick another prefix",
  (s) => !s.startsWith('wasmfleet/') && !s.startsWith('$'),
);

/** An MQTT topic filter a function subscribes to. `{node}` stands for the device's name. */
export const TopicFilter = Type.String({
  minLength: 1,
  maxLength: LIMITS.maxTopicLength,
  description:
    'MQTT topic filter; + matches one level, # the rest (last level only). {node} is replaced by the device name.',
  ...validations(
    cel<string>(
      "!self.contains('#') || self.matches('^([^#]*/)?#$')",
      "'#' must be the whole last level of a topic filter, e.g. sensors/#; move or remove it",
      (s) => !s.includes('#') || /^([^#]*\/)?#$/.test(s),
    ),
    cel<string>(
      "!self.matches('[^/][+]|[+][^/]')",
      "'+' must be a whole topic level, e.g. sensors/+/temperature, not part of one like a/+b",
      (s) => !/[^/][+]|[+][^/]/.test(s),
    ),
    reservedTopic,
    noNulInTopic,
  ),
});

/** An MQTT topic name a function publishes to: no wildcards. */
export const TopicName = Type.String({
  minLength: 1,
  maxLength: LIMITS.maxTopicLength,
  description: 'MQTT topic name (no wildcards). {node} is replaced by the device name.',
  ...validations(
    cel<string>(
      "!self.contains('+') && !self.contains('#')",
      "output topics are concrete topic names: remove the '+' or '#' wildcard",
      (s) => !s.includes('+') && !s.includes('#'),
    ),
    reservedTopic,
    noNulInTopic,
  ),
});

export const Qos = IntegerEnum([0, 1], {
  default: 1,
  description: 'MQTT QoS: 0 at most once, 1 at least once.',
});

export const PayloadFormat = StringEnum(['raw', 'json', 'senml'], {
  default: 'raw',
  description: 'How payloads are decoded before the function sees them.',
});
export type PayloadFormat = Static<typeof PayloadFormat>;

export const Input = Type.Object(
  { topic: TopicFilter, qos: Type.Optional(Qos), format: Type.Optional(PayloadFormat) },
  { ...strict, description: 'A topic the function is invoked for, with how its payloads are read.' },
);
export type Input = Static<typeof Input>;

export const Output = Type.Object(
  {
    topic: TopicName,
    qos: Type.Optional(Qos),
    retain: Type.Optional(
      Type.Boolean({
        default: false,
        description: 'Publish with the MQTT retain flag (the broker keeps the last one).',
      }),
    ),
  },
  { ...strict, description: 'A topic the function may publish to.' },
);
export type Output = Static<typeof Output>;

// ---------------------------------------------------------------- limits

const durationValid = (s: string): boolean => parseDuration(s) !== undefined;

export const Limits = Type.Object(
  {
    memory: Type.Optional(
      Type.String({
        maxLength: 32,
        default: FUNCTION_DEFAULTS.memory,
        description: `Maximum linear memory of one instance, a quantity such as 16Mi (at most ${LIMITS.maxMemory}).`,
        ...validations(
          cel<string>(
            'isQuantity(self)',
            'limits.memory must be a quantity like 16Mi or 512Ki',
            (s) => parseQuantity(s) !== undefined,
          ),
          cel<string>(
            "!isQuantity(self) || quantity(self).isGreaterThan(quantity('0'))",
            'limits.memory must be positive, e.g. 16Mi',
            (s) => (parseQuantity(s) ?? 1) > 0,
          ),
          cel<string>(
            `!isQuantity(self) || quantity(self).compareTo(quantity('${LIMITS.maxMemory}')) <= 0`,
            `limits.memory must be at most ${LIMITS.maxMemory}`,
            (s) => (parseQuantity(s) ?? 0) <= LIMITS.maxMemoryBytes,
          ),
        ),
      }),
    ),
    timeout: Type.Optional(
      Type.String({
        maxLength: 32,
        default: FUNCTION_DEFAULTS.timeout,
        description: `Deadline of one invocation, a duration such as 50ms (at most ${LIMITS.maxTimeout}).`,
        ...validations(
          cel<string>(
            `self.matches('${DURATION_PATTERN}')`,
            'limits.timeout must be a positive duration like 50ms, 2s or 1m',
            durationValid,
          ),
          cel<string>(
            `!self.matches('${DURATION_PATTERN}') || duration(self) > duration('0s')`,
            'limits.timeout must be greater than 0, e.g. 50ms',
            (s) => (parseDuration(s) ?? 1) > 0,
          ),
          cel<string>(
            `!self.matches('${DURATION_PATTERN}') || duration(self) <= duration('${LIMITS.maxTimeout}')`,
            `limits.timeout must be at most ${LIMITS.maxTimeout}`,
            (s) => (parseDuration(s) ?? 0) <= LIMITS.maxTimeoutMs,
          ),
        ),
      }),
    ),
  },
  { ...strict, description: 'Per-instance resource limits enforced by the agent.' },
);
export type Limits = Static<typeof Limits>;

// ---------------------------------------------------------------- rollout

export const CanaryStep = Type.Object(
  {
    percent: Type.Integer({
      minimum: 1,
      maximum: 100,
      format: 'int32',
      description: 'Share of the selected devices updated in this step (1-100).',
    }),
    pause: Type.Optional(
      Type.String({
        maxLength: 32,
        description: 'How long to watch health before the next step, e.g. 60s.',
        ...validations(
          cel<string>(
            `self.matches('${DURATION_PATTERN}')`,
            'steps[].pause must be a duration like 30s, 5m or 1h',
            durationValid,
          ),
        ),
      }),
    ),
    gate: Type.Optional(
      StringEnum(['Manual'], { description: 'Manual: wait for `wasmfleet rollout resume`.' }),
    ),
  },
  {
    ...strict,
    ...validations(
      cel<{ pause?: string; gate?: string }>(
        '!(has(self.pause) && has(self.gate))',
        'a canary step waits either for a pause or for a manual gate, not both; remove one',
        (s) => !(s.pause !== undefined && s.gate !== undefined),
      ),
    ),
  },
);
export type CanaryStep = Static<typeof CanaryStep>;

export const RolloutStrategy = StringEnum(['Rolling', 'Canary'], {
  default: 'Rolling',
  description:
    'Rolling: maxUnavailable devices at a time until all are updated. Canary: steps, each updating ceil(percent × devices / 100) devices (so 10% of 7 devices is 1), checked for health, then a pause or a manual gate; after the last step every device is updated.',
});
export type RolloutStrategy = Static<typeof RolloutStrategy>;

export const Rollout = Type.Object(
  {
    strategy: Type.Optional(RolloutStrategy),
    maxUnavailable: Type.Optional(
      IntOrString({
        default: '25%',
        description:
          'IntOrString: devices updated at once (strategy Rolling), an integer count ≥ 1 such as 1, or a percentage string such as "25%" (rounded up, at least 1 device). kubectl explain prints <Object> for any int-or-string field of a CRD.',
        ...validations(
          cel<number | string>(
            "type(self) == int ? self >= 1 : self.matches('^(100|[1-9][0-9]?)%$')",
            'rollout.maxUnavailable must be a device count of at least 1 or a percentage from 1% to 100%, e.g. 25%',
            (s) => (typeof s === 'number' ? Number.isInteger(s) && s >= 1 : /^(100|[1-9][0-9]?)%$/.test(s)),
          ),
        ),
      }),
    ),
    steps: Type.Optional(
      Type.Array(CanaryStep, {
        maxItems: LIMITS.maxCanarySteps,
        'x-kubernetes-list-type': 'atomic',
        description:
          'Canary steps with strictly increasing percent; a step updates ceil(percent × devices / 100) devices, and after the last step every device is updated.',
        ...validations(
          cel<{ percent: number }[]>(
            'self.map(s, s.percent).isSorted() && self.all(s, self.exists_one(t, t.percent == s.percent))',
            'rollout.steps[].percent must be strictly increasing, e.g. 10, 50, 100',
            (s) => s.every((step, i) => i === 0 || step.percent > (s[i - 1]?.percent ?? 0)),
          ),
        ),
      }),
    ),
    waves: Type.Optional(
      Type.Object(
        {
          labelKey: Type.String({
            minLength: 1,
            maxLength: 317,
            description: 'Node label whose values form the waves, e.g. ring.',
          }),
          order: Type.Optional(
            Type.Array(Type.String({ maxLength: 63 }), {
              maxItems: 32,
              'x-kubernetes-list-type': 'set',
              description: 'Label values in rollout order; devices with other values go last.',
            }),
          ),
        },
        { ...strict, description: 'Roll out one label value at a time.' },
      ),
    ),
    maxErrorRate: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: 1,
        description: 'Error rate (0-1) of updated devices that fails the rollout.',
      }),
    ),
    progressDeadlineSeconds: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 86_400,
        default: 600,
        format: 'int32',
        description:
          'Seconds a step may take to become healthy before the rollout fails (then onFailure applies); default 600.',
      }),
    ),
    onFailure: Type.Optional(
      StringEnum(['Rollback', 'Pause'], {
        default: 'Rollback',
        description: 'What a failed health gate does.',
      }),
    ),
  },
  {
    ...strict,
    description: 'How a new revision reaches the devices.',
    ...validations(
      cel<{ strategy?: string; steps?: unknown[] }>(
        "!has(self.steps) || self.strategy == 'Canary'",
        'rollout.steps are only used with rollout.strategy: Canary; remove steps or set strategy: Canary',
        (s) => s.steps === undefined || s.strategy === 'Canary',
        { fieldPath: '.steps', reason: 'FieldValueForbidden' },
      ),
      cel<{ strategy?: string; steps?: unknown[] }>(
        "self.strategy != 'Canary' || (has(self.steps) && size(self.steps) > 0)",
        'rollout.strategy: Canary needs at least one step, e.g. steps: [{percent: 10, pause: 60s}]',
        (s) => s.strategy !== 'Canary' || (s.steps !== undefined && s.steps.length > 0),
        { fieldPath: '.steps', reason: 'FieldValueRequired' },
      ),
    ),
  },
);
export type Rollout = Static<typeof Rollout>;

// ---------------------------------------------------------------- spec

const CONFIG_KEY = '^[A-Za-z_][A-Za-z0-9_.-]*$';

export const WasmFunctionSpec = Type.Object(
  {
    module: ModuleSource,
    placement: Type.Optional(Placement),
    inputs: Type.Array(Input, {
      minItems: 1,
      maxItems: LIMITS.maxInputs,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['topic'],
      description: 'Topics the function is invoked for; each topic at most once.',
    }),
    outputs: Type.Optional(
      Type.Array(Output, {
        maxItems: LIMITS.maxOutputs,
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['topic'],
        description: 'Topics the function may publish to; each topic at most once.',
      }),
    ),
    config: Type.Optional(
      StringMap(
        {
          maxProperties: LIMITS.maxConfigEntries,
          description: 'Configuration values the function reads through the config import.',
          ...validations(
            cel<Record<string, string>>(
              `self.all(k, size(k) <= 128 && k.matches('${CONFIG_KEY}'))`,
              'config keys must start with a letter or _, contain only letters, digits, _, . and -, and be at most 128 characters',
              (s) => Object.keys(s).every((k) => k.length <= 128 && new RegExp(CONFIG_KEY).test(k)),
            ),
          ),
        },
        { maxLength: 4096 },
      ),
    ),
    configMapRef: Type.Optional(LocalObjectReference),
    secretRef: Type.Optional(LocalObjectReference),
    limits: Type.Optional(Limits),
    rollout: Type.Optional(Rollout),
    revisionHistoryLimit: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 100,
        default: 10,
        format: 'int32',
        description: 'Old revisions kept for `wasmfleet rollout undo`; default 10.',
      }),
    ),
    paused: Type.Optional(
      Type.Boolean({ description: 'Stop rolling out new revisions; devices keep what they run.' }),
    ),
  },
  { ...strict, description: 'The desired state of a WasmFunction.' },
);
export type WasmFunctionSpec = Static<typeof WasmFunctionSpec>;

// ---------------------------------------------------------------- status

export const WASM_FUNCTION_CONDITION_TYPES = [
  'Ready',
  'Progressing',
  'Degraded',
  'ModuleResolved',
  'ConfigResolved',
  'Scheduled',
] as const;
export type WasmFunctionConditionType = (typeof WASM_FUNCTION_CONDITION_TYPES)[number];

/**
 * Why a rollout ended badly, as the reason of `Progressing=False` (and of `Ready`/`Degraded`):
 * aborted by a user, rolled back after a failed health gate, its progress deadline passed, or —
 * for a first deployment, which has nothing to roll back to — the deployment failed.
 */
export const ROLLOUT_FAILURE_REASONS = [
  'Aborted',
  'RolledBack',
  'ProgressDeadlineExceeded',
  'DeploymentFailed',
] as const;
export type RolloutFailureReason = (typeof ROLLOUT_FAILURE_REASONS)[number];

export const WASM_FUNCTION_PHASES = [
  'Pending',
  'Progressing',
  'Ready',
  'Degraded',
  'Paused',
  'Failed',
] as const;
export const WasmFunctionPhase = StringEnum(WASM_FUNCTION_PHASES, {
  description:
    'Pending: nothing placed yet. Progressing: a rollout is under way. Ready: every selected device runs the current revision. Degraded: some devices fail. Paused: spec.paused or a manual gate. Failed: the module cannot be resolved or the rollout failed.',
});
export type WasmFunctionPhase = Static<typeof WasmFunctionPhase>;

/** The wire phases (`FUNCTION_PHASES`) plus Stopped; Failed means the revision can never run. */
export const FUNCTION_INSTANCE_PHASES = [
  'Pending',
  'Fetching',
  'Starting',
  'Running',
  'Failed',
  'CrashLoopBackOff',
  'Stopped',
] as const;
export const FunctionInstancePhase = StringEnum(FUNCTION_INSTANCE_PHASES, {
  description:
    'Pending: assigned, not started. Fetching: getting the module. Starting: compiling and instantiating. Running. Failed: see the message. Stopped.',
});
export type FunctionInstancePhase = Static<typeof FunctionInstancePhase>;

export const NodeFunctionStatus = Type.Object(
  {
    node: Type.String({ maxLength: 253, description: 'The EdgeNode.' }),
    revision: Type.Optional(Type.String({ maxLength: 128, description: 'The revision it runs.' })),
    phase: FunctionInstancePhase,
    reason: Type.Optional(
      Type.String({
        maxLength: 64,
        description: "Why it fails: the agent's reason (Trap, MissingImport, …) or CallsFailing.",
      }),
    ),
    message: Type.Optional(
      Type.String({ maxLength: 1024, description: 'Why it is in this phase, when not Running.' }),
    ),
    lastTransitionTime: Type.Optional(Timestamp({ description: 'When the phase last changed.' })),
  },
  { ...strict, description: 'The function on one device.' },
);
export type NodeFunctionStatus = Static<typeof NodeFunctionStatus>;

export const RolloutStatus = Type.Object(
  {
    revision: Type.Optional(
      Type.String({ maxLength: 128, description: 'The revision this rollout is taking to the devices.' }),
    ),
    phase: Type.Optional(
      StringEnum(['Progressing', 'Paused', 'Complete', 'Degraded', 'RolledBack', 'Aborted'], {
        description: 'Where the rollout stands.',
      }),
    ),
    stepHealthyAt: Type.Optional(Timestamp({ description: 'When the current step became healthy.' })),
    failedRevision: Type.Optional(
      Type.String({
        maxLength: 128,
        description: 'A revision that failed its health gate; not retried until the spec changes.',
      }),
    ),
    step: Type.Optional(
      Type.Integer({ minimum: 0, format: 'int32', description: 'Index of the current canary step.' }),
    ),
    percent: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 100,
        format: 'int32',
        description: 'Share of devices updated so far.',
      }),
    ),
    wave: Type.Optional(
      Type.String({ maxLength: 63, description: 'The label value being rolled out (waves).' }),
    ),
    stepStartedAt: Type.Optional(Timestamp({ description: 'When the current step started.' })),
    waitingForGate: Type.Optional(
      Type.Boolean({ description: 'Waiting for `wasmfleet rollout resume` (a Manual gate).' }),
    ),
    errorRate: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: 1,
        description: 'Error rate (0-1) measured on the updated devices.',
      }),
    ),
    message: Type.Optional(
      Type.String({ maxLength: 1024, description: 'What the rollout is doing or waiting for.' }),
    ),
  },
  { ...strict, description: 'Where the current rollout is.' },
);
export type RolloutStatus = Static<typeof RolloutStatus>;

const count = (description: string) =>
  Type.Optional(Type.Integer({ minimum: 0, format: 'int32', description }));

export const WasmFunctionStatus = Type.Object(
  {
    observedGeneration: Type.Optional(
      Type.Integer({
        minimum: 0,
        format: 'int64',
        description: 'The metadata.generation this status describes.',
      }),
    ),
    conditions: Type.Optional(Conditions(WASM_FUNCTION_CONDITION_TYPES)),
    phase: Type.Optional(WasmFunctionPhase),
    module: Type.Optional(
      Type.String({ maxLength: 256, description: 'Short form of the resolved module source, for printing.' }),
    ),
    moduleDigest: Type.Optional(
      Type.String({ maxLength: 71, description: 'sha256:<hex> of the module the update revision runs.' }),
    ),
    currentRevision: Type.Optional(
      Type.String({
        maxLength: 128,
        description: 'The revision every device ran when the last rollout completed.',
      }),
    ),
    updateRevision: Type.Optional(
      Type.String({ maxLength: 128, description: 'The revision of the current spec, being rolled out.' }),
    ),
    desiredNodes: count('Devices selected by placement.'),
    updatedNodes: count('Devices running the update revision.'),
    readyNodes: count('Devices whose instance is Running.'),
    failedNodes: count(
      'Devices where the function fails: Failed, CrashLoopBackOff, or most of its recent calls fail.',
    ),
    ready: Type.Optional(
      Type.String({ maxLength: 32, description: 'readyNodes/desiredNodes, for printing.' }),
    ),
    nodes: Type.Optional(
      Type.Array(NodeFunctionStatus, {
        maxItems: LIMITS.maxNodeStatuses,
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['node'],
        description: `Per-device state, failed devices first, capped at ${LIMITS.maxNodeStatuses}.`,
      }),
    ),
    nodesOmitted: count('Devices left out of nodes because of the cap.'),
    rollout: Type.Optional(RolloutStatus),
  },
  { ...strict, description: 'What the operator observed.' },
);
export type WasmFunctionStatus = Static<typeof WasmFunctionStatus>;

export const WasmFunction = Type.Object(
  {
    apiVersion: Type.Literal(API_VERSION),
    kind: Type.Literal(WASM_FUNCTION_KIND),
    metadata: ObjectMeta,
    spec: WasmFunctionSpec,
    status: Type.Optional(WasmFunctionStatus),
  },
  { description: 'A WebAssembly function run on a fleet of edge devices.' },
);
export type WasmFunction = Static<typeof WasmFunction>;
