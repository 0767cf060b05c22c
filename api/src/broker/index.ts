// SPDX-License-Identifier: Apache-2.0
export { brokerAddress, type BrokerAddress } from './broker-url.ts';
