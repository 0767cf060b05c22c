// SPDX-License-Identifier: Apache-2.0
// @wasmfleet/operator — the controller that places WasmFunctions on EdgeNodes and delivers them.
export { startOperator, type OperatorOptions, type RunningOperator } from './operator.ts';
export {
  parseOperatorArgs,
  USAGE as OPERATOR_USAGE,
  UsageError as OperatorUsageError,
} from './cli-options.ts';
export { pushModule, describeBytes, wasmKind, type PushResult } from './modules/index.ts';
export { credentialsSecretName } from './identity/credentials-secret.ts';
