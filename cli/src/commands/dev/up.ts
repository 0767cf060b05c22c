// SPDX-License-Identifier: Apache-2.0
import { Flags } from '@oclif/core';
import { WasmfleetCommand } from '../../base-command.ts';
import { brokerFlag } from '../../broker/flags.ts';
import { UserError } from '../../errors.ts';
import { connectionLines } from '../../dev/connection-lines.ts';
import { detachDevUp } from '../../dev/detach.ts';
import { rotateLogWhenLarger } from '../../dev/log-rotation.ts';
import { startLiveView } from '../../dev/live-view.ts';
import { onStopSignals } from '../../dev/stop-signals.ts';
import { DEV_NAMESPACE, startDevStack, type DevStack } from '../../dev/stack.ts';
import {
  DEV_CONTEXT,
  clearDevState,
  clearStaleDevState,
  devPaths,
  isAlive,
  processStartTime,
  readDevState,
  writeDevState,
} from '../../dev/state-file.ts';
import { style } from '../../output/style.ts';

/** Set by `dev up --detach` for the background process: its log file, kept under 2 × 1 MiB. */
export const DETACHED_LOG_ENV = 'WASMFLEET_DEV_LOG_FILE';
const LOG_LIMIT_BYTES = 1024 * 1024;

export default class DevUp extends WasmfleetCommand<typeof DevUp> {
  static override summary =
    'Run WasmFleet on this machine: control plane, broker, operator, devices and sample functions.';
  static override description = `No cluster needed: starts a local etcd + kube-apiserver (built once from the Go module proxy), an embedded MQTT broker (aedes), the operator, device agents with simulated sensors and cameras, and deploys the sample functions from workloads/. Shows a live view; Ctrl-C stops everything and exits 0.

While it runs, every wasmfleet command uses it when neither --kubeconfig nor KUBECONFIG is set, and logs/invoke use its broker. Its kubeconfig is always $WASMFLEET_DEV_DIR/kubeconfig (context ${DEV_CONTEXT}); \`wasmfleet dev env\` prints the lines to export for kubectl.

One stack per WASMFLEET_DEV_DIR (default ~/.wasmfleet/dev). To run a second one beside it, give it its own directory and broker port: WASMFLEET_DEV_DIR=~/.wasmfleet/dev-2 wasmfleet dev up --broker-port 0.

With --kubeconfig it uses that cluster instead of starting one; with --broker, that broker.`;
  static override examples = [
    '<%= config.bin %> dev up',
    '<%= config.bin %> dev up --devices 5 --cameras 2',
    '<%= config.bin %> dev up --agent native',
    '<%= config.bin %> dev up --detach && <%= config.bin %> get functions && <%= config.bin %> dev down',
    'WASMFLEET_DEV_DIR=~/.wasmfleet/dev-2 <%= config.bin %> dev up --detach --broker-port 0',
    '<%= config.bin %> dev up --kubeconfig ~/.kube/config --broker mqtt://127.0.0.1:1883',
  ];
  static override flags = {
    devices: Flags.integer({
      description: 'Simulated temperature/humidity devices.',
      default: 3,
      min: 0,
      max: 50,
    }),
    cameras: Flags.integer({ description: 'Simulated camera devices.', default: 1, min: 0, max: 20 }),
    agent: Flags.option({
      description:
        'Device runtime of the simulated devices: the Node agent, or the native agent (Wasmtime; built with cargo on first use).',
      options: ['node', 'native'] as const,
      default: 'node' as const,
    })(),
    broker: brokerFlag('Use this MQTT broker instead of starting the embedded one.'),
    'broker-port': Flags.integer({
      description: 'Port of the embedded broker (0 picks a free port).',
      default: 1883,
      min: 0,
      max: 65535,
    }),
    detach: Flags.boolean({
      char: 'd',
      description: 'Start in the background and return; stop with `wasmfleet dev down`.',
    }),
    view: Flags.boolean({
      description: 'Show the live view (default on a terminal).',
      allowNo: true,
      default: true,
    }),
  };

  public async run(): Promise<void> {
    await refuseSecondStack();
    if (this.flags.detach) {
      const state = await detachDevUp(this.argv);
      this.log(
        `WasmFleet dev stack running in the background (pid ${state.pid}); log: ${state.logFile ?? ''}`,
      );
      for (const line of connectionLines(state.kubeconfig, state.broker)) this.log(line);
      this.log('  stop it with: wasmfleet dev down');
      return;
    }
    const logFile = process.env[DETACHED_LOG_ENV];
    const rotation = logFile ? rotateLogWhenLarger(logFile, LOG_LIMIT_BYTES) : undefined;
    const abort = new AbortController();
    const stopRequested = onStopSignals(
      () => abort.abort(new Error('interrupted')),
      () => process.stderr.write('still stopping the dev stack; press Ctrl-C again to kill it at once\n'),
    );
    const started = Date.now();
    const stack = await this.start(abort.signal);
    await writeDevState({
      pid: process.pid,
      pidStartTime: processStartTime(process.pid),
      kubeconfig: stack.kubeconfigPath,
      broker: stack.brokerUrl,
      pids: stack.pids,
      startedAt: new Date().toISOString(),
      logFile,
    });
    const banner = [
      `${style.ok('WasmFleet is up')} in ${((Date.now() - started) / 1000).toFixed(1)} s — ${stack.devices.length} devices, broker ${stack.brokerUrl}`,
      ...connectionLines(stack.kubeconfigPath, stack.brokerUrl),
    ];
    process.stderr.write(`\n${banner.join('\n')}\n\n`);
    const out = this.flags.view ? process.stdout : process.stderr;
    const view = await startLiveView(stack.kube, stack.mqtt, DEV_NAMESPACE, out, banner);
    await stopRequested;
    view.stop();
    process.stderr.write('stopping the dev stack…\n');
    await stack.stop();
    await clearDevState();
    rotation?.stop();
    process.stderr.write('dev stack stopped\n');
    // Exit now rather than when the last socket or timer of a stopped part lets go.
    process.exit(0);
  }

  /** Starts the stack; a Ctrl-C while it starts stops what has started and exits 130. */
  private async start(signal: AbortSignal): Promise<DevStack> {
    const progress = (line: string) => process.stderr.write(`${style.dim('•')} ${line}\n`);
    const paths = devPaths();
    try {
      return await startDevStack({
        kubeconfig: this.flags.kubeconfig,
        broker: this.flags.broker,
        brokerPort: this.flags['broker-port'],
        devices: this.flags.devices,
        cameras: this.flags.cameras,
        agent: this.flags.agent,
        kubeconfigOut: paths.kubeconfig,
        runDir: paths.run,
        progress,
        signal,
      });
    } catch (error) {
      if (signal.aborted)
        throw new UserError('dev up was interrupted; what had started is stopped', { exitCode: 130 });
      if (error instanceof UserError) throw error; // already says what is wrong and how to fix it
      throw new UserError(`dev up failed: ${error instanceof Error ? error.message : String(error)}`, {
        hint: 'the output above says which part failed; `scripts/test` checks the toolchain on this machine',
        cause: error,
      });
    }
  }
}

async function refuseSecondStack(): Promise<void> {
  const running = await readDevState();
  if (!running) return;
  if (!isAlive(running.pid, running.pidStartTime)) {
    await clearStaleDevState(); // killed without a chance to clean up
    return;
  }
  throw new UserError(
    `a dev stack is already running from ${devPaths().state} (pid ${running.pid}, broker ${running.broker})`,
    {
      hint:
        'use it (every wasmfleet command does by default), stop it with `wasmfleet dev down`, or run a second one ' +
        'beside it with its own directory and broker port: WASMFLEET_DEV_DIR=~/.wasmfleet/dev-2 wasmfleet dev up --broker-port 0',
    },
  );
}
