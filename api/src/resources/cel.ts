// SPDX-License-Identifier: Apache-2.0
// CEL validation rules that live in two places at once: as `x-kubernetes-validations` in the
// generated CRD (enforced by the API server at `kubectl apply`) and as a TypeScript predicate with
// the same meaning (run by validateWasmFunction on the client). Declaring both side by side keeps
// them from drifting apart; the integration tests check the server's verdict on the same fixtures.

/** One `x-kubernetes-validations` entry as it appears in a CRD schema. */
export interface CelRule {
  rule: string;
  message: string;
  fieldPath?: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
}

type Check = (self: unknown) => boolean;

const checks = new Map<string, Check>();

/**
 * Declares a CEL rule and its TypeScript twin. `check` receives the value the rule's `self`
 * refers to (after defaulting) and returns true when the value is valid.
 */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- T names the type of CEL's `self` at each call site
export function cel<T>(
  rule: string,
  message: string,
  check: (self: T) => boolean,
  extra: Omit<CelRule, 'rule' | 'message'> = {},
): CelRule {
  // The same CEL text means the same thing wherever it appears, so the first twin is kept.
  if (!checks.has(rule)) checks.set(rule, (self) => check(self as T));
  return { rule, message, ...extra };
}

/** The TypeScript predicate registered for a CEL rule, if any. */
export function checkFor(rule: string): Check | undefined {
  return checks.get(rule);
}

/** Schema options carrying CEL rules. */
export function validations(...rules: CelRule[]): { 'x-kubernetes-validations': CelRule[] } {
  return { 'x-kubernetes-validations': rules };
}

// ---- Kubernetes quantities and Go durations, as CEL's quantity() and duration() read them ----

const QUANTITY =
  /^([+-]?)([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$/;
const SUFFIX: Record<string, number> = {
  '': 1,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  Ti: 1024 ** 4,
  Pi: 1024 ** 5,
  Ei: 1024 ** 6,
};

/** Parses a Kubernetes resource quantity ("16Mi", "1.5G", "100m") to a number; undefined when invalid. */
export function parseQuantity(text: string): number | undefined {
  const m = QUANTITY.exec(text);
  if (!m) return undefined;
  const [, sign = '', digits = '', suffix = ''] = m;
  const value = Number(digits);
  // "E" alone is the exa suffix (10^18); only "e3", "E-2", … are exponents.
  const factor = /^[eE][+-]?[0-9]+$/.test(suffix) ? 10 ** Number(suffix.slice(1)) : SUFFIX[suffix];
  if (factor === undefined || Number.isNaN(value)) return undefined;
  return (sign === '-' ? -1 : 1) * value * factor;
}

/** The regular expression the CRD uses for a duration, shared by the CEL rule and the TS check. */
export const DURATION_PATTERN = '^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$';
const DURATION_RE = new RegExp(DURATION_PATTERN);
const DURATION_PART = /([0-9]+)(?:[.]([0-9]+))?(ns|us|ms|s|m|h)/g;
const UNIT_NS: Record<string, number> = { ns: 1, us: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/**
 * Parses a positive Go-style duration ("50ms", "1m30s") to milliseconds; undefined when invalid.
 * Like Go's time.ParseDuration (which CEL's duration() uses), each part is truncated to whole
 * nanoseconds: "0.5ns" is zero, so the server's "must be greater than 0" refuses it, and so do we.
 */
export function parseDuration(text: string): number | undefined {
  if (!DURATION_RE.test(text)) return undefined;
  let totalNs = 0;
  for (const [, whole = '', fraction = '', unit = ''] of text.matchAll(DURATION_PART)) {
    const scale = UNIT_NS[unit] ?? Number.NaN;
    totalNs += Number(whole) * scale + Math.trunc(Number(`0.${fraction || '0'}`) * scale);
  }
  return Number.isNaN(totalNs) ? undefined : totalNs / 1e6;
}
