// SPDX-License-Identifier: Apache-2.0
// Byte counts in messages, spelled one way by every component: binary units, at most one
// decimal, none when the value is whole ("16 MiB", "1.5 KiB", "4 GiB").
const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'] as const;

export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${+value.toFixed(1)} ${UNITS[unit] ?? 'B'}`;
}
