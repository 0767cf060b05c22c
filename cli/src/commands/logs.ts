// SPDX-License-Identifier: Apache-2.0
import { Args, Flags } from '@oclif/core';
import { setTimeout as sleep } from 'node:timers/promises';
import { brokerForLogs, isNodeId, logFilter, logTopic, parseLogLine, type LogLine } from '@wasmfleet/api';
import { WasmfleetCommand, outputFlag } from '../base-command.ts';
import { connectBroker, disconnect } from '../broker/connect.ts';
import { resolveBroker } from '../broker/discover.ts';
import { brokerFlags } from '../broker/flags.ts';
import { durationFlag } from '../duration.ts';
import { UserError } from '../errors.ts';
import { readFunction } from '../functions/read.ts';
import { formatLogLine } from '../output/log-line.ts';

export default class Logs extends WasmfleetCommand<typeof Logs> {
  static override summary = 'Print a function’s log lines from its devices (over MQTT).';
  static override description = `Log lines are not stored anywhere: devices publish them on wasmfleet/v1/logs/<namespace>/<function>/<node> and only lines published while this command listens are shown. Without -f it listens for --window (2s) and exits; with -f it follows until Ctrl-C. The broker is --broker (or WASMFLEET_BROKER), else the running \`wasmfleet dev up\` stack's, else the one the cluster's WasmFleet operator uses.

Lines print as NODE  TIME  LEVEL  TEXT; -o json prints each line's JSON document.`;
  static override examples = [
    '<%= config.bin %> logs temp-alert -f',
    '<%= config.bin %> logs temp-alert --node dev-sensor-1 --since 5m',
    '<%= config.bin %> logs temp-alert -n plant-1 --broker mqtt://broker.example:1883 -o json',
  ];
  static override args = { fn: Args.string({ required: true, description: 'WasmFunction name' }) };
  static override flags = {
    ...brokerFlags,
    follow: Flags.boolean({ char: 'f', description: 'Keep printing lines until interrupted.' }),
    node: Flags.string({ description: 'Only lines from this device.' }),
    since: Flags.string({
      description: 'Skip lines whose timestamp is older than this, e.g. 10m (late or replayed lines).',
    }),
    window: Flags.string({ description: 'Without -f: how long to listen before exiting.', default: '2s' }),
    output: outputFlag(['table', 'json']),
  };

  public async run(): Promise<void> {
    const { args } = await this.parse(Logs);
    const windowMs = durationFlag('window', this.flags.window);
    const sinceMs = this.flags.since === undefined ? undefined : durationFlag('since', this.flags.since);
    const node = this.flags.node;
    if (node !== undefined && !isNodeId(node)) {
      throw new UserError(`--node ${JSON.stringify(node)} is not a device name`, {
        hint: 'device names are lower-case letters, digits, - and . (see `wasmfleet get nodes`)',
      });
    }
    const namespace = this.kube().namespace;
    // Fails early, with a hint, for a function that does not exist.
    await this.call({ what: `wasmfunction "${args.fn}"`, namespace }, (kube) =>
      readFunction(kube, args.fn, namespace),
    );

    const broker = await resolveBroker(this.flags.broker, this.kube());
    const topic = node ? logTopic(namespace, args.fn, node) : logFilter(namespace, args.fn);
    const client = await connectBroker(broker, 'logs', { caFile: this.flags['broker-ca'] });
    let width = 12;
    let printed = 0;
    client.on('message', (_topic, payload) => {
      const parsed = parseLogLine(payload);
      if (!parsed.ok) {
        process.stderr.write(
          `warning: skipped a malformed log line on ${_topic}: ${parsed.errors[0] ?? ''}\n`,
        );
        return;
      }
      const line: LogLine = parsed.value;
      if (sinceMs !== undefined && Date.parse(line.ts) < Date.now() - sinceMs) return;
      printed++;
      width = Math.max(width, line.node.length);
      process.stdout.write(
        this.flags.output === 'json' ? `${JSON.stringify(line)}\n` : `${formatLogLine(line, width)}\n`,
      );
    });
    await client.subscribeAsync(topic, { qos: 0 });

    if (!this.flags.follow) {
      await sleep(windowMs);
      await disconnect(client);
      if (printed === 0) {
        this.logToStderr(
          `No log lines from "${args.fn}"${node ? ` on ${node}` : ''} within ${this.flags.window} (lines are not stored: only what devices publish while listening shows). Use -f to keep following.`,
        );
      }
      return;
    }
    client.options.reconnectPeriod = 1_000;
    client.on('offline', () =>
      this.logToStderr(`lost the broker at ${brokerForLogs(broker)}; reconnecting…`),
    );
    await new Promise<void>((resolve) => {
      for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve());
    });
    await disconnect(client);
  }
}
