// SPDX-License-Identifier: Apache-2.0
// The health gate: what the devices holding the update revision report about it.
import type { TargetDevice } from './types.ts';

const FAILED_PHASES = new Set(['Failed', 'CrashLoopBackOff']);

export interface DeviceFailure {
  readonly name: string;
  readonly reason: string;
}

export interface Health {
  /** Devices that should run the update revision. */
  readonly updated: number;
  /** …of which report it Running (a device counts only when it says so, never when told). */
  readonly ready: number;
  readonly failed: readonly DeviceFailure[];
  /** Not ready, not failed, and online: these should be making progress. */
  readonly waitingOnline: number;
  /** Not ready and offline: they catch up when back, and never trip the progress deadline. */
  readonly waitingOffline: number;
  readonly errorRate: number | undefined;
  readonly errorRateExceeded: boolean;
}

export function isReady(device: TargetDevice, revision: string): boolean {
  return device.report?.revision === revision && device.report.phase === 'Running';
}

export function assessHealth(
  updated: readonly TargetDevice[],
  revision: string,
  maxErrorRate: number | undefined,
): Health {
  let ready = 0;
  let waitingOnline = 0;
  let waitingOffline = 0;
  let invocations = 0;
  let errors = 0;
  const failed: DeviceFailure[] = [];
  for (const device of updated) {
    const report = device.report?.revision === revision ? device.report : undefined;
    if (report) {
      invocations += report.invocations;
      errors += report.errors;
    }
    if (report && FAILED_PHASES.has(report.phase))
      failed.push({ name: device.name, reason: report.reason ?? report.phase });
    else if (report?.phase === 'Running') ready++;
    else if (device.online) waitingOnline++;
    else waitingOffline++;
  }
  const errorRate = invocations > 0 ? errors / invocations : undefined;
  return {
    updated: updated.length,
    ready,
    failed,
    waitingOnline,
    waitingOffline,
    errorRate,
    errorRateExceeded: errorRate !== undefined && maxErrorRate !== undefined && errorRate > maxErrorRate,
  };
}

/** Every updated device runs the revision, none failed, and the error rate is within bounds. */
export function isHealthy(health: Health): boolean {
  return health.ready === health.updated && health.failed.length === 0 && !health.errorRateExceeded;
}
