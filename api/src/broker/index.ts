// SPDX-License-Identifier: Apache-2.0
export {
  brokerAddress,
  brokerAddresses,
  brokerForLogs,
  brokerServer,
  type BrokerAddress,
} from './broker-url.ts';
