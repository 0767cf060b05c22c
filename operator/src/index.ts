// SPDX-License-Identifier: Apache-2.0
// @wasmfleet/operator — the controller that places WasmFunctions on EdgeNodes and delivers them.
export { startOperator, type OperatorOptions, type RunningOperator } from './operator.ts';
export {
  parseOperatorArgs,
  USAGE as OPERATOR_USAGE,
  UsageError as OperatorUsageError,
} from './cli-options.ts';
export { credentialsSecretName } from './identity/credentials-secret.ts';
export {
  joinTokenSecret,
  joinTokenSecretName,
  storedJoinToken,
  JOIN_TOKEN_LABEL,
} from './join/join-token-secrets.ts';
export { JOIN_SETTINGS_CONFIGMAP } from './join/join-settings.ts';
