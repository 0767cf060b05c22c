// SPDX-License-Identifier: Apache-2.0
// @ts-nocheck -- AssemblyScript, compiled by asc (build.sh), not tsc.
/* eslint-disable -- AssemblyScript source. */
// __NAME__: a WasmFleet function. See README.md.
import { Input, config, emitString, handleWith, stateGet, stateSet } from 'wasmfleet';
export { wf_alloc, wf_dealloc } from 'wasmfleet';

export function wf_handle(ptr: usize, len: i32): i32 {
  return handleWith(ptr, len, onInput);
}

function onInput(input: Input): string | null {
  const previous = stateGet('count');
  const count: u32 =
    (previous !== null && previous.byteLength == 4 ? load<u32>(changetype<usize>(previous)) : 0) + 1;
  const saved = new ArrayBuffer(4);
  store<u32>(changetype<usize>(saved), count);
  if (!stateSet('count', saved)) return 'state quota exceeded';
  const label = config('LABEL');
  const out =
    '{"label":"' +
    (label !== null ? label : '') +
    '","count":' +
    count.toString() +
    ',"bytes":' +
    input.payload.length.toString() +
    '}';
  return emitString('', out) == 0 ? null : 'the output was rejected';
}
