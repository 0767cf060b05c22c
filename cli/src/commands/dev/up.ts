// SPDX-License-Identifier: Apache-2.0
import { spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Flags } from '@oclif/core';
import { processExists } from '@wasmfleet/test-support';
import { WasmfleetCommand } from '../../base-command.ts';
import { UserError } from '../../errors.ts';
import { startLiveView } from '../../dev/live-view.ts';
import { DEV_NAMESPACE, startDevStack } from '../../dev/stack.ts';
import { clearDevState, devDir, readDevState, writeDevState } from '../../dev/state-file.ts';
import { style } from '../../output/style.ts';

const CLI_BIN = fileURLToPath(new URL('../../../bin/wasmfleet.ts', import.meta.url));

export default class DevUp extends WasmfleetCommand<typeof DevUp> {
  static override summary =
    'Run WasmFleet on this machine: control plane, broker, operator, devices and sample functions.';
  static override description = `No cluster needed: starts a local etcd + kube-apiserver (built once from the Go module proxy), an embedded MQTT broker (aedes), the operator, device agents with simulated sensors and cameras, and deploys the sample functions from workloads/. Shows a live view; Ctrl-C stops everything. With --kubeconfig it uses that cluster instead; with --broker, that broker.`;
  static override examples = [
    '<%= config.bin %> dev up',
    '<%= config.bin %> dev up --devices 5 --cameras 2',
    '<%= config.bin %> dev up --agent native',
    '<%= config.bin %> dev up --detach && <%= config.bin %> get functions && <%= config.bin %> dev down',
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
    const running = await readDevState();
    if (running && processExists(running.pid)) {
      throw new UserError(
        `a dev stack is already running (pid ${running.pid}, kubeconfig ${running.kubeconfig})`,
        {
          hint:
            'stop it with `wasmfleet dev down`, or use it: wasmfleet get functions --kubeconfig ' +
            running.kubeconfig,
        },
      );
    }
    if (this.flags.detach) return this.detach();

    const progress = (line: string) => process.stderr.write(`${style.dim('•')} ${line}\n`);
    const started = Date.now();
    const stack = await startDevStack({
      kubeconfig: this.flags.kubeconfig,
      broker: this.flags.broker,
      brokerPort: this.flags['broker-port'],
      devices: this.flags.devices,
      cameras: this.flags.cameras,
      agent: this.flags.agent,
      progress,
    }).catch((error: unknown) => {
      throw new UserError(`dev up failed: ${error instanceof Error ? error.message : String(error)}`, {
        hint: 'the output above says which part failed; `scripts/test` checks the toolchain on this machine',
        cause: error,
      });
    });
    await writeDevState({
      pid: process.pid,
      kubeconfig: stack.kubeconfigPath,
      broker: stack.brokerUrl,
      pids: stack.pids,
      startedAt: new Date().toISOString(),
    });
    process.stderr.write(
      [
        '',
        `${style.ok('WasmFleet is up')} in ${((Date.now() - started) / 1000).toFixed(1)} s — ${stack.devices.length} devices, broker ${stack.brokerUrl}`,
        `  export KUBECONFIG=${stack.kubeconfigPath}`,
        `  wasmfleet get nodes; wasmfleet get functions; wasmfleet describe function temp-alert`,
        `  mosquitto_sub -h 127.0.0.1 -p ${new URL(stack.brokerUrl).port} -t 'alerts/#' -v`,
        '',
      ].join('\n'),
    );
    const view = await startLiveView(
      stack.kube,
      stack.mqtt,
      DEV_NAMESPACE,
      this.flags.view ? process.stdout : process.stderr,
    );
    await new Promise<void>((resolve) => {
      for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve());
    });
    view.stop();
    process.stderr.write('stopping the dev stack…\n');
    await stack.stop();
    await clearDevState();
    process.exit(0);
  }

  /** Starts `dev up` as a background process and waits until it says it is up. */
  private async detach(): Promise<void> {
    await mkdir(devDir(), { recursive: true });
    const logFile = path.join(devDir(), 'dev-up.log');
    const out = openSync(logFile, 'w');
    const args = [
      CLI_BIN,
      'dev',
      'up',
      '--no-view',
      '--devices',
      String(this.flags.devices),
      '--cameras',
      String(this.flags.cameras),
      '--broker-port',
      String(this.flags['broker-port']),
      '--agent',
      this.flags.agent,
    ];
    if (this.flags.kubeconfig) args.push('--kubeconfig', this.flags.kubeconfig);
    if (this.flags.broker) args.push('--broker', this.flags.broker);
    const child = spawn(process.execPath, args, {
      detached: true,
      stdio: ['ignore', out, out],
      env: { ...process.env, NO_COLOR: '1' },
    });
    child.unref();
    const deadline = Date.now() + 15 * 60_000;
    for (;;) {
      const state = await readDevState();
      if (state && state.pid === child.pid) {
        this.log(`WasmFleet dev stack running in the background (pid ${state.pid}); log: ${logFile}`);
        this.log(`  export KUBECONFIG=${state.kubeconfig}`);
        this.log(`  broker: ${state.broker}`);
        this.log('  stop it with: wasmfleet dev down');
        return;
      }
      if (child.exitCode !== null || (child.pid !== undefined && !processExists(child.pid))) {
        throw new UserError(`dev up exited before it was ready; see ${logFile}`, {
          hint: 'run `wasmfleet dev up` in the foreground to watch it start',
        });
      }
      if (Date.now() > deadline)
        throw new UserError(`dev up did not become ready within 15 minutes; see ${logFile}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}
