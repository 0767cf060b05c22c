// SPDX-License-Identifier: Apache-2.0
// @ts-nocheck -- AssemblyScript, compiled by asc (see build.ts), not tsc.
/* eslint-disable -- AssemblyScript source; see workloads/README.md. */
// Temperature threshold alert. Input: SenML. For every record whose name ends with SENSOR
// (default "temperature"), it raises an alert when the value goes above THRESHOLD (default 30)
// and clears it when the value falls to THRESHOLD - HYSTERESIS (default 1) or below. The alert
// state of each sensor is kept per device ("alerting:<name>"), so a hot sensor alerts once, not on
// every reading, even across restarts. Output (JSON, first declared output):
//   {"alert":"high","sensor":"dev1/temperature","value":31.5,"threshold":30,"unit":"Cel","t":1700000000}
//   {"alert":"clear", ...}
import { Input, WARN, configF64, config, emitString, handleWith, log, stateGet, stateSet } from 'wasmfleet';
import { parseSenML } from 'wasmfleet/senml';
export { wf_alloc, wf_dealloc } from 'wasmfleet';

export function wf_handle(ptr: usize, len: i32): i32 {
  return handleWith(ptr, len, onInput);
}

function json(s: string): string {
  return '"' + s.replaceAll('\\', '\\\\').replaceAll('"', '\\"') + '"';
}

function onInput(input: Input): string | null {
  const threshold = configF64('THRESHOLD', 30);
  const hysteresis = configF64('HYSTERESIS', 1);
  const sensorConfig = config('SENSOR');
  const sensor = sensorConfig !== null ? sensorConfig : 'temperature';
  const pack = parseSenML(input.payload);
  if (pack.error !== null) return pack.error;
  for (let i = 0; i < pack.records.length; i++) {
    const rec = pack.records[i];
    if (!rec.hasValue || !rec.name.endsWith(sensor)) continue;
    const key = 'alerting:' + rec.name;
    const previous = stateGet(key);
    const alerting =
      previous !== null && previous.byteLength > 0 && load<u8>(changetype<usize>(previous)) == 1;
    let kind = '';
    if (!alerting && rec.value > threshold) kind = 'high';
    else if (alerting && rec.value <= threshold - hysteresis) kind = 'clear';
    if (kind.length == 0) continue;
    const flag = new ArrayBuffer(1);
    store<u8>(changetype<usize>(flag), kind == 'high' ? 1 : 0);
    if (!stateSet(key, flag)) return 'state quota exceeded';
    const alert =
      '{"alert":"' +
      kind +
      '","sensor":' +
      json(rec.name) +
      ',"value":' +
      rec.value.toString() +
      ',"threshold":' +
      threshold.toString() +
      ',"unit":' +
      json(rec.unit) +
      ',"t":' +
      rec.time.toString() +
      '}';
    if (kind == 'high')
      log(WARN, rec.name + ' is ' + rec.value.toString() + ' (threshold ' + threshold.toString() + ')');
    if (emitString('', alert) != 0) return 'the alert output was rejected';
  }
  return null;
}
