// SPDX-License-Identifier: Apache-2.0
// Reading HTTP status codes out of whatever @kubernetes/client-node threw. Generated API calls
// throw ApiException (`code`); the watch throws an Error with `statusCode`; a watch ERROR event
// carries a Status object with `code`.

export function statusCodeOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  for (const field of ['code', 'statusCode'] as const) {
    if (field in error) {
      const value: unknown = (error as Record<string, unknown>)[field];
      if (typeof value === 'number') return value;
    }
  }
  return undefined;
}

export const isNotFound = (error: unknown): boolean => statusCodeOf(error) === 404;
export const isConflict = (error: unknown): boolean => statusCodeOf(error) === 409;
export const isAlreadyExists = (error: unknown): boolean => statusCodeOf(error) === 409;

/** A short, single-line description for logs and conditions. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = statusCodeOf(error);
    const first = error.message.split('\n')[0] ?? '';
    return code === undefined ? first : `HTTP ${code}: ${first.slice(0, 300)}`;
  }
  return String(error);
}
