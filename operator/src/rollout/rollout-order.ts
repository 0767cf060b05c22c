// SPDX-License-Identifier: Apache-2.0
// The stable device order a rollout walks through. Canary and batch membership is "the first k
// devices of this order", so the order must not depend on the order targets arrive in, and must
// be the same for a function across reconciles and operator restarts: it is keyed on a hash of
// (function, device), which also spreads different functions over different first devices.
import { compareStrings, hash32 } from '../scheduler/order.ts';
import type { RolloutSettings, TargetDevice } from './types.ts';

export function rolloutOrder(
  functionKey: string,
  targets: readonly TargetDevice[],
  waves: RolloutSettings['waves'],
): TargetDevice[] {
  const waveRank = waveRanker(targets, waves);
  const keyed = targets.map((device) => ({
    device,
    wave: waveRank(device),
    // Online devices first within a wave: an offline canary proves nothing and an offline device
    // holds a Rolling slot until it returns. Once assigned, a device keeps its place regardless.
    offline: device.online ? 0 : 1,
    hash: hash32(`${functionKey}\u0000${device.name}`),
  }));
  keyed.sort(
    (a, b) =>
      a.wave - b.wave ||
      a.offline - b.offline ||
      a.hash - b.hash ||
      compareStrings(a.device.name, b.device.name),
  );
  return keyed.map((k) => k.device);
}

/** Listed label values in their order, then unlisted values alphabetically, then unlabelled devices. */
function waveRanker(
  targets: readonly TargetDevice[],
  waves: RolloutSettings['waves'],
): (device: TargetDevice) => number {
  if (!waves) return () => 0;
  const listed = new Map(waves.order.map((value, i) => [value, i]));
  const unlisted = [
    ...new Set(
      targets
        .map((t) => t.labels[waves.labelKey])
        .filter((v): v is string => v !== undefined && !listed.has(v)),
    ),
  ].sort(compareStrings);
  const rank = new Map([
    ...listed,
    ...unlisted.map((value, i): [string, number] => [value, listed.size + i]),
  ]);
  const last = listed.size + unlisted.length;
  return (device) => {
    const value = device.labels[waves.labelKey];
    return value === undefined ? last : (rank.get(value) ?? last);
  };
}
