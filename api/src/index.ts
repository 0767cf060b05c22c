// SPDX-License-Identifier: Apache-2.0
// @wasmfleet/api — the single source of truth for resource shapes and the MQTT wire contract.
export * from './resources/index.ts';
export * from './wire/index.ts';
export * from './signing/index.ts';
export * from './process/index.ts';
export * from './broker/index.ts';
export * from './log/index.ts';
export { formatBytes } from './format-bytes.ts';
