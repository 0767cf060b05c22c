// SPDX-License-Identifier: Apache-2.0
export {
  brokerAddress,
  brokerAddresses,
  brokerServer,
  brokerTarget,
  type BrokerAddress,
} from './broker-url.ts';
