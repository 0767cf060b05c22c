// SPDX-License-Identifier: Apache-2.0
// Every control-plane tool a test may run, in one call: kube-apiserver and etcd (what
// @wasmfleet/local-stack starts) and kubectl (built on first use).
import {
  ensureApiServerBinaries,
  ensureKubectlBinary,
  type ApiServerBinaries,
  type EnsureOptions,
} from '@wasmfleet/local-stack';

export interface ControlPlaneBinaries extends ApiServerBinaries {
  readonly kubectl: string;
}

export async function ensureControlPlaneBinaries(options: EnsureOptions = {}): Promise<ControlPlaneBinaries> {
  const server = await ensureApiServerBinaries(options);
  const { kubectl } = await ensureKubectlBinary(options);
  return { ...server, kubectl };
}
