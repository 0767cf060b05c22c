// SPDX-License-Identifier: Apache-2.0
// __NAME__: a WasmFleet function (component). See README.md.
import { config, handler, loadState, output, saveState } from './sdk/wasmfleet.js';

export const handle = handler((input) => {
  const count = (loadState('count') ?? 0) + 1;
  saveState('count', count);
  return output('', { label: config('LABEL', ''), count, bytes: input.payload.length });
});
