// SPDX-License-Identifier: Apache-2.0
import { Args, Flags } from '@oclif/core';
import type { IPublishPacket } from 'mqtt';
import { isNodeId } from '@wasmfleet/api';
import { WasmfleetCommand, outputFlag } from '../base-command.ts';
import { connectBroker, disconnect, requireBroker } from '../broker/connect.ts';
import { durationFlag } from '../duration.ts';
import { UserError } from '../errors.ts';
import { readFunction } from '../functions/read.ts';
import { checkPayload, formatFor, planInvoke } from '../invoke/plan.ts';

/** After the first output, wait this long for more before exiting. */
const QUIET_MS = 300;

export default class Invoke extends WasmfleetCommand<typeof Invoke> {
  static override summary = 'Publish a test input for a function on one device and print what it outputs.';
  static override description = `Reads the function's inputs and outputs from the API server, subscribes to its output topics (with {node} expanded), publishes --payload to its first input topic, and prints the outputs that arrive: it returns ${QUIET_MS} ms after the last one, or fails when none arrives within --timeout. Needs --broker (or WASMFLEET_BROKER).`;
  static override examples = [
    `<%= config.bin %> invoke temp-alert --node pump-7 --payload '[{"n":"temperature","v":35}]'`,
    `<%= config.bin %> invoke router --node gw-1 --input-topic sensors/gw-1/line-3 --payload hello -o json`,
  ];
  static override args = { fn: Args.string({ required: true, description: 'WasmFunction name' }) };
  static override flags = {
    node: Flags.string({ required: true, description: 'The device whose topics to use ({node} in topics).' }),
    payload: Flags.string({ required: true, description: 'The message: JSON, SenML or text.' }),
    'input-topic': Flags.string({
      description: 'Publish here instead of the first input (needed when it has wildcards).',
    }),
    timeout: Flags.string({ description: 'How long to wait for an output.', default: '5s' }),
    output: outputFlag(['table', 'json']),
  };

  public async run(): Promise<void> {
    const { args } = await this.parse(Invoke);
    const broker = requireBroker(this.flags.broker);
    const timeoutMs = durationFlag('timeout', this.flags.timeout);
    const node = this.flags.node;
    if (!isNodeId(node)) {
      throw new UserError(`--node ${JSON.stringify(node)} is not a device name`, {
        hint: 'device names are lower-case letters, digits, - and . (see `wasmfleet get nodes`)',
      });
    }
    const namespace = this.kube().namespace;
    const fn = await this.call({ what: `wasmfunction "${args.fn}"`, namespace }, (kube) =>
      readFunction(kube, args.fn, namespace),
    );
    const inputs = fn.spec.inputs;
    const plan = planInvoke(
      { name: args.fn, inputs, outputs: fn.spec.outputs ?? [] },
      node,
      this.flags['input-topic'],
    );
    checkPayload(this.flags.payload, formatFor(inputs, node, plan.inputTopic));

    const client = await connectBroker(broker, 'invoke', { caFile: this.flags['broker-ca'] });
    try {
      let count = 0;
      let quiet: NodeJS.Timeout | undefined;
      const finished = new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        client.on('message', (topic: string, payload: Buffer, packet: IPublishPacket) => {
          if (packet.retain) return; // an old output kept by the broker, not an answer to us
          count++;
          this.print(topic, payload);
          clearTimeout(quiet);
          quiet = setTimeout(() => {
            clearTimeout(timer);
            resolve();
          }, QUIET_MS);
        });
      });
      const v5 = client.options.protocolVersion === 5;
      await client.subscribeAsync([...plan.outputTopics], { qos: 1, ...(v5 ? { rh: 2 } : {}) });
      await client.publishAsync(plan.inputTopic, this.flags.payload, { qos: plan.qos });
      await finished;
      clearTimeout(quiet);
      if (count === 0) {
        throw new UserError(
          `no output from "${args.fn}" on ${plan.outputTopics.join(', ')} within ${this.flags.timeout} (published to ${plan.inputTopic})`,
          {
            hint: `check it runs on ${node} (\`wasmfleet rollout status ${args.fn}\`) and read its logs (\`wasmfleet logs ${args.fn} --node ${node} -f\`); some inputs produce no output, and --timeout waits longer`,
          },
        );
      }
    } finally {
      await disconnect(client);
    }
  }

  private print(topic: string, payload: Buffer): void {
    const text = utf8(payload);
    if (this.flags.output === 'json') {
      const body = text === undefined ? { payloadBase64: payload.toString('base64') } : { payload: text };
      process.stdout.write(`${JSON.stringify({ topic, ...body, receivedAt: new Date().toISOString() })}\n`);
      return;
    }
    process.stdout.write(
      `${topic}  ${text ?? `<${payload.length} bytes, base64 ${payload.toString('base64')}>`}\n`,
    );
  }
}

function utf8(bytes: Uint8Array): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}
