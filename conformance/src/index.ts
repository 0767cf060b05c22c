// SPDX-License-Identifier: Apache-2.0
// @wasmfleet/conformance — the device conformance kit (docs/conformance.md).
export {
  runConformance,
  selectChecks,
  type CheckResult,
  type ConformanceReport,
  type RunOptions,
} from './runner.ts';
export { CHECKS } from './checks/index.ts';
export type { Check, CheckContext } from './check.ts';
export { resultLine, summary, toJson } from './report.ts';
