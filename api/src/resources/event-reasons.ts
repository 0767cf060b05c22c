// SPDX-License-Identifier: Apache-2.0
// The reasons of the Kubernetes Events the operator records (what `kubectl describe` and
// `wasmfleet describe` list under Events), one list per kind an Event is about. The operator's
// controllers record only these (`FleetContext.recordEvent` takes an `EventReason`), and tools
// and tests name them through these types, so a misspelt reason fails the type check instead of
// matching nothing.
import { WASM_FUNCTION_PHASES } from './wasmfunction.ts';

/** A rollout's transitions (operator/src/rollout/transition-events.ts). */
export const ROLLOUT_EVENT_REASONS = [
  'StepStarted',
  'StepAdvanced',
  'StepHealthy',
  'Promoted',
  'Completed',
  'Paused',
  'Resumed',
  'ProgressDeadlineExceeded',
  'RolledBack',
  'Aborted',
  'Degraded',
] as const;
export type RolloutEventReason = (typeof ROLLOUT_EVENT_REASONS)[number];

/**
 * Events about a WasmFunction: its rollout's transitions, a change of phase (the new phase is the
 * reason), and a deletion whose devices did not all confirm in time.
 */
export const WASM_FUNCTION_EVENT_REASONS = [
  ...ROLLOUT_EVENT_REASONS,
  ...WASM_FUNCTION_PHASES,
  'CleanupTimedOut',
] as const;
export type WasmFunctionEventReason = (typeof WASM_FUNCTION_EVENT_REASONS)[number];

/** Events about an EdgeNode: the device came online or went offline, or is not admitted. */
export const EDGE_NODE_EVENT_REASONS = ['DeviceOnline', 'DeviceOffline', 'UnknownDevice'] as const;
export type EdgeNodeEventReason = (typeof EDGE_NODE_EVENT_REASONS)[number];

export type EventReason = WasmFunctionEventReason | EdgeNodeEventReason;
