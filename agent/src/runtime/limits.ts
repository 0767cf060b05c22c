// SPDX-License-Identifier: Apache-2.0
// Limits the runtimes enforce when a function spec leaves them out (docs/guest-abi.md, "Limits and errors").
/** A componentized JS function is ~12 MB; anything far beyond that is refused unread. */
export const DEFAULT_MAX_MODULE_BYTES = 32 * 1024 * 1024;
export const MAX_TABLE_ELEMENTS = 100_000;
export const COMPILE_TIMEOUT_MS = 10_000;
/** wf_init and _initialize may do setup work, but not forever. */
export function initTimeoutMs(callTimeoutMs: number): number {
  return Math.max(1_000, callTimeoutMs * 10);
}
