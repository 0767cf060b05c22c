// SPDX-License-Identifier: Apache-2.0
// The rollout core: a pure function from (policy, devices, reports, progress, controls, now) to
// per-device revisions and the rollout's next progress. See types.ts for the contract.
export { decideRollout } from './decide.ts';
export { rolloutSettings } from './settings.ts';
export type * from './types.ts';
