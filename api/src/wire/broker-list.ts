// SPDX-License-Identifier: Apache-2.0
// A broker given as several URLs, comma-separated: the nodes of one clustered broker (issue 18).
// Clients connect to the first and move on to the next whenever a connection drops, so a device
// or the operator survives the loss of the node it was on. Pure.

/** The URLs of `list` (`mqtt://a:1883,mqtt://b:1883`), in order; throws on an empty entry. */
export function brokerUrls(list: string): string[] {
  const urls = list.split(',').map((u) => u.trim());
  if (urls.some((u) => u === ''))
    throw new Error(
      `broker list "${list}" has an empty entry; write the nodes of a clustered broker comma-separated, e.g. mqtt://broker-0:1883,mqtt://broker-1:1883`,
    );
  return urls;
}
