// SPDX-License-Identifier: Apache-2.0
// What the shared join user may do on the broker: send join requests and read join responses —
// never read a request (it carries a token), never touch anything else. Responses are sealed for
// their token (api/src/wire/join.ts), so reading another device's does not help.
import { JOIN_REQUEST_FILTER, JOIN_RESPONSE_FILTER } from '@wasmfleet/api';
import type { Acl } from '../identity/grants.ts';

export const JOIN_ROLE = 'wasmfleet-join';

export function deviceJoinAcls(): Acl[] {
  return [
    { acltype: 'publishClientSend', topic: JOIN_REQUEST_FILTER, priority: 0, allow: true },
    { acltype: 'subscribePattern', topic: JOIN_RESPONSE_FILTER, priority: 0, allow: true },
    { acltype: 'publishClientReceive', topic: JOIN_RESPONSE_FILTER, priority: 0, allow: true },
  ];
}
