// SPDX-License-Identifier: Apache-2.0
// URLs as they may appear in a log line, an error or a status message (which the broker keeps,
// retained, for anyone who may read status): without their secrets. Broker URLs: brokerForLogs
// in ../broker/broker-url.ts.

/**
 * Any URL for a log line or a status message: user and password become ***, and so does every
 * query value (a presigned module URL carries its signature there). Names stay, for debugging.
 */
export function urlForLogs(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url.replace(/\/\/[^/@]*@/, '//***@').replace(/\?.*$/, '?***');
  }
  if (parsed.username !== '' || parsed.password !== '') {
    parsed.username = '***';
    parsed.password = '';
  }
  for (const key of new Set(parsed.searchParams.keys())) parsed.searchParams.set(key, '***');
  return parsed.href;
}
