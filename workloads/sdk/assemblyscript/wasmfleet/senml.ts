// SPDX-License-Identifier: Apache-2.0
// @ts-nocheck -- AssemblyScript, compiled by asc, not tsc.
/* eslint-disable -- AssemblyScript source; see workloads/README.md. */
// A small SenML (RFC 8428, JSON) reader for AssemblyScript functions: import { parseSenML } from
// "wasmfleet/senml". It resolves base fields (bn, bt, bu, bv) and skips anything it does not know.

export class SenMLRecord {
  /** bn + n */
  name: string = '';
  /** u, or bu when absent */
  unit: string = '';
  /** v + bv; NaN when the record has no numeric value */
  value: f64 = NaN;
  hasValue: bool = false;
  /** t + bt (seconds, RFC 8428) */
  time: f64 = 0;
}

/** Thrown errors cannot be caught in AssemblyScript, so parsing reports through `error`. */
export class SenMLResult {
  records: SenMLRecord[] = [];
  error: string | null = null;
}

class Scanner {
  s: Uint8Array;
  i: i32 = 0;
  failed: bool = false;

  constructor(s: Uint8Array) {
    this.s = s;
  }

  ws(): void {
    while (this.i < this.s.length) {
      const c = this.s[this.i];
      if (c != 0x20 && c != 0x0a && c != 0x0d && c != 0x09) break;
      this.i++;
    }
  }

  eat(c: u8): bool {
    this.ws();
    if (this.i < this.s.length && this.s[this.i] == c) {
      this.i++;
      return true;
    }
    return false;
  }

  peek(): u8 {
    this.ws();
    return this.i < this.s.length ? this.s[this.i] : 0;
  }

  str(): string {
    if (!this.eat(0x22)) {
      this.failed = true;
      return '';
    }
    let out = '';
    let start = this.i;
    while (this.i < this.s.length && this.s[this.i] != 0x22) {
      if (this.s[this.i] == 0x5c) {
        out += String.UTF8.decodeUnsafe(this.s.dataStart + start, this.i - start);
        this.i++;
        if (this.i >= this.s.length) break;
        const e = this.s[this.i];
        out += e == 0x6e ? '\n' : e == 0x74 ? '\t' : String.fromCharCode(e);
        start = this.i + 1;
      }
      this.i++;
    }
    if (this.i >= this.s.length) {
      this.failed = true;
      return '';
    }
    out += String.UTF8.decodeUnsafe(this.s.dataStart + start, this.i - start);
    this.i++;
    return out;
  }

  num(): f64 {
    this.ws();
    const start = this.i;
    while (this.i < this.s.length) {
      const c = this.s[this.i];
      if ((c >= 0x30 && c <= 0x39) || c == 0x2d || c == 0x2b || c == 0x2e || c == 0x65 || c == 0x45) this.i++;
      else break;
    }
    if (this.i == start) {
      this.failed = true;
      return NaN;
    }
    return parseFloat(String.UTF8.decodeUnsafe(this.s.dataStart + start, this.i - start));
  }

  /** Skips one JSON value of any kind. */
  skip(): void {
    const c = this.peek();
    if (c == 0x22) {
      this.str();
      return;
    }
    if (c == 0x7b || c == 0x5b) {
      let depth = 0;
      while (this.i < this.s.length) {
        const d = this.s[this.i];
        if (d == 0x22) {
          this.str();
          continue;
        }
        this.i++;
        if (d == 0x7b || d == 0x5b) depth++;
        else if (d == 0x7d || d == 0x5d) {
          if (--depth == 0) return;
        }
      }
      this.failed = true;
      return;
    }
    // number, true, false, null
    const start = this.i;
    while (this.i < this.s.length) {
      const d = this.s[this.i];
      if (d == 0x2c || d == 0x7d || d == 0x5d || d == 0x20 || d == 0x0a || d == 0x0d || d == 0x09) break;
      this.i++;
    }
    if (this.i == start) this.failed = true;
  }
}

/** Parses a SenML JSON pack. On malformed input `error` says what is wrong. */
export function parseSenML(payload: Uint8Array): SenMLResult {
  const result = new SenMLResult();
  const s = new Scanner(payload);
  let baseName = '';
  let baseTime: f64 = 0;
  let baseUnit = '';
  let baseValue: f64 = 0;
  if (!s.eat(0x5b)) {
    result.error = 'SenML payload must be a JSON array of records';
    return result;
  }
  if (s.eat(0x5d)) return result;
  do {
    if (!s.eat(0x7b)) {
      result.error = 'malformed SenML: a record must be an object';
      return result;
    }
    const rec = new SenMLRecord();
    let name = '';
    let unit = '';
    let value: f64 = 0;
    let time: f64 = 0;
    if (!s.eat(0x7d)) {
      do {
        const key = s.str();
        if (s.failed || !s.eat(0x3a)) {
          result.error = 'malformed SenML record';
          return result;
        }
        if (key == 'bn') baseName = s.str();
        else if (key == 'bt') baseTime = s.num();
        else if (key == 'bu') baseUnit = s.str();
        else if (key == 'bv') baseValue = s.num();
        else if (key == 'n') name = s.str();
        else if (key == 'u') unit = s.str();
        else if (key == 't') time = s.num();
        else if (key == 'v') {
          value = s.num();
          rec.hasValue = true;
        } else s.skip();
        if (s.failed) {
          result.error = "malformed SenML value for field '" + key + "'";
          return result;
        }
      } while (s.eat(0x2c));
      if (!s.eat(0x7d)) {
        result.error = 'malformed SenML: unterminated record';
        return result;
      }
    }
    rec.name = baseName + name;
    rec.unit = unit.length > 0 ? unit : baseUnit;
    rec.value = rec.hasValue ? value + baseValue : NaN;
    rec.time = time + baseTime;
    result.records.push(rec);
  } while (s.eat(0x2c));
  if (!s.eat(0x5d)) result.error = "malformed SenML: expected ',' or ']' between records";
  return result;
}
