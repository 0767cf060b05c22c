// SPDX-License-Identifier: Apache-2.0
// The lines a user copies into another shell to reach a dev stack (printed by `dev up`, kept at
// the top of its live view, and by `dev status`).
export function connectionLines(kubeconfig: string, broker: string): string[] {
  return [
    `  export KUBECONFIG=${kubeconfig}   # for kubectl; wasmfleet finds the stack by itself`,
    `  export WASMFLEET_BROKER=${broker}`,
    '  wasmfleet get nodes; wasmfleet get functions; wasmfleet describe function temp-alert',
  ];
}
