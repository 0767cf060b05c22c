// SPDX-License-Identifier: Apache-2.0
// The MQTT broker flags, declared only by the commands that talk to a broker (logs, invoke,
// sim sensors, dev up), so that no other command's help offers them.
import { Flags } from '@oclif/core';

export const brokerFlag = (description = 'MQTT broker URL (mqtt://, mqtts://, ws://).') =>
  Flags.string({ description, env: 'WASMFLEET_BROKER', helpGroup: 'BROKER' });

export const brokerFlags = {
  broker: brokerFlag(
    'MQTT broker URL (mqtt://, mqtts://, ws://). Default: the running `wasmfleet dev up` stack’s, or the one the cluster’s WasmFleet operator uses.',
  ),
  'broker-ca': Flags.string({
    description: 'CA certificate (PEM) to verify an mqtts:// broker with.',
    env: 'WASMFLEET_BROKER_CA',
    helpGroup: 'BROKER',
  }),
};
