// SPDX-License-Identifier: Apache-2.0
// A broken runtime: the real agent, except that it ignores the subscription identifiers on the
// copies a broker sends (as the agent did before ADR 0024): with overlapping filters on
// Mosquitto it runs a function once per copy. The kit's once-per-reading check must fail.
import { interceptHandleMessage, runAgent } from './intercept.ts';

interceptHandleMessage((_client, handler) => (packet, callback) => {
  if (packet.properties) delete packet.properties.subscriptionIdentifier;
  handler(packet, callback);
});
await runAgent();
