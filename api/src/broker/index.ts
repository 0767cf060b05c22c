// SPDX-License-Identifier: Apache-2.0
export { brokerAddress, brokerAddresses, brokerServer, type BrokerAddress } from './broker-url.ts';
