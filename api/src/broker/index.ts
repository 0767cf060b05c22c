// SPDX-License-Identifier: Apache-2.0
export { brokerAddress, brokerForLogs, type BrokerAddress } from './broker-url.ts';
