// SPDX-License-Identifier: Apache-2.0
// Checks an input payload against its declared format before any function sees it (guest-abi.md,
// "Payload formats"). Pure. A malformed input is counted and reported, never passed on; the
// function still receives the original bytes when the check passes.

export type PayloadFormat = 'raw' | 'json' | 'senml';

export const DEFAULT_MAX_PAYLOAD_BYTES = 256 * 1024;

export type PayloadVerdict = { readonly ok: true } | { readonly ok: false; readonly problem: string };

const utf8 = new TextDecoder('utf-8', { fatal: true });
const OK: PayloadVerdict = { ok: true };

export function checkPayload(
  payload: Uint8Array,
  format: PayloadFormat,
  maxBytes = DEFAULT_MAX_PAYLOAD_BYTES,
): PayloadVerdict {
  if (payload.length > maxBytes)
    return { ok: false, problem: `payload of ${payload.length} bytes exceeds the ${maxBytes}-byte limit` };
  if (format === 'raw') return OK;
  let text: string;
  try {
    text = utf8.decode(payload);
  } catch {
    return { ok: false, problem: 'payload is not valid UTF-8' };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, problem: `payload is not valid JSON: ${(error as Error).message}` };
  }
  return format === 'senml' ? checkSenml(value) : OK;
}

const VALUE_FIELDS = ['v', 'vs', 'vb', 'vd', 's'] as const;

/** RFC 8428 JSON: a non-empty array of records; each has a name (own or base) and one value. */
export function checkSenml(value: unknown): PayloadVerdict {
  if (!Array.isArray(value) || value.length === 0)
    return { ok: false, problem: 'SenML must be a non-empty JSON array of records' };
  let baseName = '';
  for (let i = 0; i < value.length; i++) {
    const record: unknown = value[i];
    if (typeof record !== 'object' || record === null || Array.isArray(record)) {
      return { ok: false, problem: `SenML record ${i} is not an object` };
    }
    const r = record as Record<string, unknown>;
    if (r.bn !== undefined) {
      if (typeof r.bn !== 'string') return { ok: false, problem: `SenML record ${i}: bn must be a string` };
      baseName = r.bn;
    }
    if (r.n !== undefined && typeof r.n !== 'string')
      return { ok: false, problem: `SenML record ${i}: n must be a string` };
    if (`${baseName}${typeof r.n === 'string' ? r.n : ''}` === '') {
      return { ok: false, problem: `SenML record ${i} has no name (n or bn)` };
    }
    for (const numeric of ['t', 'ut', 'bt', 'bv', 'bs', 'v', 's'] as const) {
      if (r[numeric] !== undefined && (typeof r[numeric] !== 'number' || !Number.isFinite(r[numeric]))) {
        return { ok: false, problem: `SenML record ${i}: ${numeric} must be a finite number` };
      }
    }
    if (r.vs !== undefined && typeof r.vs !== 'string')
      return { ok: false, problem: `SenML record ${i}: vs must be a string` };
    if (r.vb !== undefined && typeof r.vb !== 'boolean')
      return { ok: false, problem: `SenML record ${i}: vb must be a boolean` };
    if (r.vd !== undefined && typeof r.vd !== 'string')
      return { ok: false, problem: `SenML record ${i}: vd must be a string` };
    const values = VALUE_FIELDS.filter((f) => r[f] !== undefined && f !== 's').length;
    if (values > 1) return { ok: false, problem: `SenML record ${i} has more than one value field` };
    if (values === 0 && r.s === undefined && r.bv === undefined && r.bn === undefined) {
      return { ok: false, problem: `SenML record ${i} has no value (v, vs, vb, vd or s)` };
    }
  }
  return OK;
}
