// SPDX-License-Identifier: Apache-2.0
// Which devices get `module.signatures`. Agents before 0.2.0 reject a desired document with a
// field they do not know (the v1 contract rejects unknown fields), so they get the function
// without it — exactly what they ran before signatures existed — while agents that can verify get
// the material. Decided from the agentVersion a device reports; a device that has not reported
// one yet (new, or never seen by this operator) is assumed current. Pure.
import type { DesiredFunction } from '@wasmfleet/api';

/** The first agent version that understands `module.signatures` (agent AGENT_VERSION). */
export const SIGNATURES_SINCE: readonly [number, number, number] = [0, 2, 0];

export function agentUnderstandsSignatures(agentVersion: string | undefined): boolean {
  if (agentVersion === undefined) return true;
  const m = /(\d+)\.(\d+)\.(\d+)/.exec(agentVersion);
  if (!m) return true;
  const v = [Number(m[1]), Number(m[2]), Number(m[3])];
  for (let i = 0; i < 3; i++) {
    const [have, need] = [v[i] ?? 0, SIGNATURES_SINCE[i] ?? 0];
    if (have !== need) return have > need;
  }
  return true;
}

/** The function as a device with `agentVersion` can accept it (same revision either way). */
export function forAgent(fn: DesiredFunction, agentVersion: string | undefined): DesiredFunction {
  if (fn.module.signatures === undefined || agentUnderstandsSignatures(agentVersion)) return fn;
  const { signatures: _dropped, ...module } = fn.module;
  return { ...fn, module };
}
