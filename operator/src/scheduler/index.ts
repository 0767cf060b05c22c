// SPDX-License-Identifier: Apache-2.0
// The placement core: pure functions from (functions, nodes, current placement, now) to placement.
export { schedule } from './schedule.ts';
export { reschedule } from './reschedule.ts';
export type * from './types.ts';
