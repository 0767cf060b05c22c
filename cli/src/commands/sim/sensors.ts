// SPDX-License-Identifier: Apache-2.0
import { Flags } from '@oclif/core';
import { WasmfleetCommand } from '../../base-command.ts';
import { connectBroker, requireBroker } from '../../broker/connect.ts';
import { startSensors, type SensorPlan } from '@wasmfleet/agent/sim';

export default class SimSensors extends WasmfleetCommand<typeof SimSensors> {
  static override summary =
    'Publish simulated sensor readings (SenML temperature/humidity) or camera frames for devices.';
  static override description =
    'Readings go to sensors/<node>/temperature and sensors/<node>/humidity (QoS 1, SenML), frames to cameras/<node>/frame (PPM). Runs until Ctrl-C, or for --count rounds.';
  static override examples = [
    '<%= config.bin %> sim sensors --broker mqtt://127.0.0.1:1883 --node gw-1 --node gw-2',
    '<%= config.bin %> sim sensors --node cam-1 --kind camera --interval 2000',
  ];
  static override flags = {
    node: Flags.string({ required: true, multiple: true, description: 'Device id (repeatable).' }),
    kind: Flags.option({
      options: ['climate', 'camera'] as const,
      default: 'climate',
      description: 'What the devices measure.',
    })(),
    interval: Flags.integer({ default: 1000, min: 10, description: 'Milliseconds between rounds.' }),
    count: Flags.integer({ min: 1, description: 'Stop after this many rounds.' }),
  };

  public async run(): Promise<void> {
    const broker = requireBroker(this.flags.broker);
    const client = await connectBroker(broker, 'publish simulated readings', {
      caFile: this.flags['broker-ca'],
    });
    const plans: SensorPlan[] = this.flags.node.map((node) => ({ node, kind: this.flags.kind }));
    const stop = startSensors(client, plans, this.flags.interval);
    this.logToStderr(
      `publishing for ${plans.length} device(s) every ${this.flags.interval} ms to ${broker}; Ctrl-C stops`,
    );
    await new Promise<void>((resolve) => {
      if (this.flags.count) setTimeout(resolve, this.flags.count * this.flags.interval + 50);
      for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve());
    });
    stop();
    await client.endAsync();
  }
}
