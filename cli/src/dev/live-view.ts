// SPDX-License-Identifier: Apache-2.0
// The live view of `wasmfleet dev up`: devices, functions, message rates and the latest outputs.
// On a terminal it redraws in place once a second; elsewhere (CI, a pipe) it prints a summary
// line every few seconds instead.
import { KubernetesObjectApi, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import type { MqttClient } from 'mqtt';
import { renderObjects } from '../output/render.ts';
import { style } from '../output/style.ts';
import { FUNCTIONS, NODES } from '../resources.ts';

const INPUT_FILTERS = ['sensors/#', 'cameras/+/frame'];
const OUTPUT_FILTERS = ['alerts/#', 'anomalies/#', 'cameras/+/gray'];

export interface LiveView {
  stop(): void;
}

export async function startLiveView(
  kube: KubeConfig,
  client: MqttClient,
  namespace: string,
  out: NodeJS.WriteStream,
): Promise<LiveView> {
  const objects = KubernetesObjectApi.makeApiClient(kube);
  let inputs = 0;
  let outputs = 0;
  const latest: string[] = [];
  client.on('message', (topic, payload) => {
    if (/^(sensors|cameras\/[^/]+\/frame)/.test(topic)) {
      inputs++;
      return;
    }
    outputs++;
    const text = topic.endsWith('/gray')
      ? `<${payload.length}-byte PGM frame>`
      : payload.toString('utf8').slice(0, 100);
    latest.unshift(`${new Date().toISOString().slice(11, 19)}  ${topic}  ${text}`);
    latest.length = Math.min(latest.length, 6);
  });
  await client.subscribeAsync([...INPUT_FILTERS, ...OUTPUT_FILTERS], { qos: 0 });

  const tty = out.isTTY;
  let lastInputs = 0;
  let lastOutputs = 0;
  let lastAt = Date.now();
  let tick = 0;
  const draw = async (): Promise<void> => {
    const now = Date.now();
    const seconds = Math.max(0.001, (now - lastAt) / 1000);
    const inRate = (inputs - lastInputs) / seconds;
    const outRate = (outputs - lastOutputs) / seconds;
    [lastInputs, lastOutputs, lastAt] = [inputs, outputs, now];
    const nodes = (await objects.list<KubernetesObject>(NODES.apiVersion, NODES.kind))
      .items as unknown as Record<string, unknown>[];
    const functions = (await objects.list<KubernetesObject>(FUNCTIONS.apiVersion, FUNCTIONS.kind, namespace))
      .items as unknown as Record<string, unknown>[];
    if (!tty) {
      if (tick++ % 5 === 0) {
        const ready = functions.map(
          (f) =>
            `${String((f.metadata as { name?: string }).name)} ${(f.status as { ready?: string } | undefined)?.ready ?? '-'}`,
        );
        out.write(
          `[dev] ${nodes.length} devices, functions: ${ready.join(', ')}; ${inRate.toFixed(0)} msg/s in, ${outRate.toFixed(1)} msg/s out\n`,
        );
      }
      return;
    }
    const screen = [
      style.bold('WasmFleet dev — Ctrl-C stops everything'),
      '',
      style.bold('DEVICES'),
      renderObjects(NODES, nodes, 'table').trimEnd(),
      '',
      style.bold('FUNCTIONS'),
      renderObjects(FUNCTIONS, functions, 'table').trimEnd(),
      '',
      `${style.bold('MESSAGES')}  ${inRate.toFixed(0)} msg/s in (sensors, cameras)   ${outRate.toFixed(1)} msg/s out (alerts, anomalies, gray frames)`,
      '',
      style.bold('LATEST OUTPUTS'),
      ...(latest.length > 0 ? latest : [style.dim('(none yet)')]),
    ];
    out.write(`\x1b[H\x1b[2J${screen.join('\n')}\n`);
  };
  const timer = setInterval(() => void draw().catch(() => undefined), 1000);
  return { stop: () => clearInterval(timer) };
}
