// SPDX-License-Identifier: Apache-2.0
/**
 * A time as the API server writes it (2026-12-06T19:40:43Z). The client library hands some back
 * as Date objects, whose String() is "Sun Dec 06 2026 19:40:43 GMT+0000 (…)".
 */
export function rfc3339(value: unknown): string | undefined {
  if (value instanceof Date) return value.toISOString().replace(/\.000Z$/, 'Z');
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** kubectl's AGE format: 45s, 12m, 3h, 5d, 2y. */
export function age(timestamp: string | undefined, now = Date.now()): string {
  if (!timestamp) return '<unknown>';
  const seconds = Math.max(0, Math.floor((now - Date.parse(timestamp)) / 1000));
  if (Number.isNaN(seconds)) return '<unknown>';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 120) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(hours / 24);
  return days < 730 ? `${days}d` : `${Math.floor(days / 365)}y`;
}
