// SPDX-License-Identifier: Apache-2.0
// The MQTT wire contract, version 1 (docs/mqtt-contract.md): topics and documents shared by the
// operator, the agent and the CLI. TypeBox schemas give both the TS types and JSON Schema.
export * from './topics.ts';
export * from './desired.ts';
export { functionKey } from './function-key.ts';
export * from './status.ts';
export * from './call-health.ts';
export * from './log-line.ts';
export * from './module-envelope.ts';
export * from './parse.ts';
export * from './limits.ts';
export * from './join.ts';
export * from './agent-target.ts';
export * from './broker-list.ts';
