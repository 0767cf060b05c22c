export { brokerAddress, brokerForLogs, type BrokerAddress } from './broker-url.ts';
