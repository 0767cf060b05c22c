// SPDX-License-Identifier: Apache-2.0
// What bench/cli reads: the README's temp-alert with the status an operator writes after a
// finished rollout, 20 devices, and Events on the function (so describe prints some).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ControlPlane } from '@wasmfleet/local-stack';

export const FIXTURE_NAMESPACE = 'bench-cli';
const DEVICES = 20;
const NOW = new Date().toISOString().replace(/\.\d+Z$/, 'Z');

export async function createFixture(plane: ControlPlane): Promise<void> {
  const kubectl = async (args: readonly string[], stdin?: string): Promise<void> => {
    const r = await plane.kubectl(args, stdin === undefined ? {} : { stdin });
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  };
  await kubectl(['create', 'namespace', FIXTURE_NAMESPACE]);
  const example = await readFile(
    path.resolve(import.meta.dirname, '../../api/examples/temp-alert-url.yaml'),
    'utf8',
  );
  await kubectl(['apply', '-n', FIXTURE_NAMESPACE, '-f', '-'], example);
  const nodes = Array.from({ length: DEVICES }, (_, i) => `pump-${i + 1}`);
  for (const node of nodes) {
    await kubectl(['apply', '-f', '-'], JSON.stringify(edgeNode(node)));
    await kubectl([
      'patch',
      'edgenode',
      node,
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify(nodeStatus()),
    ]);
  }
  await kubectl([
    'patch',
    'wasmfunction',
    'temp-alert',
    '-n',
    FIXTURE_NAMESPACE,
    '--subresource=status',
    '--type=merge',
    '-p',
    JSON.stringify(functionStatus(nodes)),
  ]);
  for (const [reason, message] of [
    ['Scheduled', `placed on ${DEVICES} devices`],
    ['Completed', `all ${DEVICES} devices run r1`],
  ] as const) {
    await kubectl(['create', '-n', FIXTURE_NAMESPACE, '-f', '-'], JSON.stringify(event(reason, message)));
  }
}

const edgeNode = (name: string) => ({
  apiVersion: 'wasmfleet.io/v1alpha1',
  kind: 'EdgeNode',
  metadata: { name, labels: { site: 'plant-1' } },
  spec: {},
});

const nodeStatus = () => ({
  status: {
    phase: 'Online',
    lastHeartbeat: NOW,
    agentVersion: '0.2.0',
    sensorSummary: 'temperature',
    functionCount: 1,
  },
});

const functionStatus = (nodes: readonly string[]) => ({
  status: {
    observedGeneration: 1,
    phase: 'Ready',
    module: 'url:artifacts.example/temp-alert.wasm',
    currentRevision: 'r1',
    updateRevision: 'r1',
    desiredNodes: nodes.length,
    updatedNodes: nodes.length,
    readyNodes: nodes.length,
    failedNodes: 0,
    ready: `${nodes.length}/${nodes.length}`,
    conditions: [
      { type: 'Ready', status: 'True', reason: 'AllDevicesReady', message: 'ok', lastTransitionTime: NOW },
    ],
    nodes: nodes.map((node) => ({ node, revision: 'r1', phase: 'Running', lastTransitionTime: NOW })),
    rollout: { revision: 'r1', phase: 'Complete', step: 2, percent: 100, message: 'complete' },
  },
});

const event = (reason: string, message: string) => ({
  apiVersion: 'v1',
  kind: 'Event',
  metadata: { generateName: 'temp-alert-', namespace: FIXTURE_NAMESPACE },
  involvedObject: {
    apiVersion: 'wasmfleet.io/v1alpha1',
    kind: 'WasmFunction',
    name: 'temp-alert',
    namespace: FIXTURE_NAMESPACE,
  },
  reason,
  message,
  type: 'Normal',
  source: { component: 'wasmfleet-operator' },
  firstTimestamp: NOW,
  lastTimestamp: NOW,
  count: 1,
});
