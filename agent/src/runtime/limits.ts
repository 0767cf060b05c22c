// Defaults for the limits a function spec may leave out (docs/guest-abi.md, "Limits and errors").

export const DEFAULT_TIMEOUT_MS = 100;
export const DEFAULT_MEMORY_BYTES = 16 * 1024 * 1024;
/** A componentized JS function is ~12 MB; anything far beyond that is refused unread. */
export const DEFAULT_MAX_MODULE_BYTES = 32 * 1024 * 1024;
export const MAX_TABLE_ELEMENTS = 100_000;
export const COMPILE_TIMEOUT_MS = 10_000;
/** wf_init and _initialize may do setup work, but not forever. */
export function initTimeoutMs(callTimeoutMs: number): number {
  return Math.max(1_000, callTimeoutMs * 10);
}
