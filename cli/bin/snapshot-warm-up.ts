// SPDX-License-Identifier: Apache-2.0
// What the CLI's startup snapshot does once, while it is built, so that no call has to
// (docs/adr/0043): oclif's root plugin of the build is loaded (its package.json and manifest read,
// its 31 commands sorted — with `localeCompare`, whose first use sets up ICU's collator, ~8-15 ms
// a call), and the pure functions that every `get`, `describe` and `rollout status` runs (YAML
// parsing of a kubeconfig, tables, describe and rollout views) run once on sample objects, so V8
// keeps their bytecode in the snapshot instead of compiling them at each call.
// Everything here runs after snapshot-audit.ts has checked the modules' load time, and must not
// read anything a call could see differently: a module that looks at the terminal or the
// environment (the stand-ins of cli/scripts/lazy-modules-plugin.ts) refuses to load while this
// runs, so the build fails instead of keeping the build's values.
import path from 'node:path';
import { Plugin } from '@oclif/core';
import { load } from 'js-yaml';
import { clearLoggers, setLogger } from '@oclif/core/logger';
import type { FunctionObject } from '../src/functions/read.ts';
import { describeObject } from '../src/output/describe.ts';
import { renderObjects } from '../src/output/render.ts';
import { renderSummary } from '../src/output/rollout-status.ts';
import { ASCII_BAR } from '../src/output/bar.ts';
import { evaluateRollout } from '../src/rollout/evaluate.ts';
import { FUNCTIONS, NODES } from '../src/resources.ts';
import { currentBundle } from './bundle.js';

/** Set while the warm-up runs: a lazily loaded module refuses to load (lazy-modules-plugin.ts). */
export const WARMING = Symbol.for('wasmfleet.cli.snapshot.warming');

/**
 * oclif's logger interface, silent: the real one loads `debug`, which reads DEBUG as it loads.
 * A call whose DEBUG is empty uses it too (snapshot-main.ts): `debug` would print nothing then.
 */
export const SILENT_LOGGER = {
  child: () => SILENT_LOGGER,
  debug: () => undefined,
  error: () => undefined,
  info: () => undefined,
  trace: () => undefined,
  warn: () => undefined,
  namespace: 'oclif',
};

/**
 * oclif's root plugin of the build in `from` (where the build is being made), loaded as oclif
 * loads it on every call, and rooted at `root` (where the build will be used). A call passes it
 * to oclif as `loadOptions.plugins`, which then reads neither file nor sorts again.
 */
export async function loadRootPlugin(from: string, root: string): Promise<Plugin> {
  setLogger({ root: from, logger: SILENT_LOGGER });
  try {
    const plugin = new Plugin({ isRoot: true, root: from });
    await plugin.load();
    plugin.root = root;
    return plugin;
  } finally {
    // The call sets its own logger (oclif's, with the call's DEBUG).
    clearLoggers();
  }
}

/** Runs the call-time functions once on sample objects (results dropped) while WARMING is set. */
export function warmUp(): void {
  const noColor = process.env.NO_COLOR;
  Reflect.set(globalThis, WARMING, true);
  // Plain text: the colour path looks at the call's stdout.
  process.env.NO_COLOR = '1';
  try {
    // Whether the build is current: ~260 stat calls on every call (cli/bin/bundle.js).
    currentBundle();
    // The kubeconfig's parser (kube/kubeconfig.ts).
    load(SAMPLE_KUBECONFIG);
    const now = Date.parse(SAMPLE_TIME) + 60_000;
    const fn = sampleFunction();
    const nodes = ['pump-1', 'pump-2', 'pump-3'].map(sampleNode);
    renderObjects(FUNCTIONS, [fn, { ...fn, metadata: { name: 'other', namespace: 'default' } }], 'table');
    renderObjects(NODES, nodes, 'table');
    describeObject(fn, SAMPLE_EVENTS, now);
    describeObject(nodes[0] ?? {}, [], now);
    renderSummary(fn as unknown as FunctionObject, evaluateRollout(fn as unknown as FunctionObject), {
      now,
      chars: ASCII_BAR,
    });
  } finally {
    if (noColor === undefined) delete process.env.NO_COLOR;
    else process.env.NO_COLOR = noColor;
    Reflect.deleteProperty(globalThis, WARMING);
  }
}

/** The form `kubectl config` writes, with data fields as long as a real CA, certificate and key. */
const PEM_DATA = Buffer.from('-'.repeat(1100)).toString('base64');
export const SAMPLE_KUBECONFIG = `apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority-data: ${PEM_DATA}
    server: https://127.0.0.1:6443
  name: sample
contexts:
- context:
    cluster: sample
    namespace: default
    user: admin
  name: sample
current-context: sample
preferences: {}
users:
- name: admin
  user:
    client-certificate-data: ${PEM_DATA}
    client-key-data: ${PEM_DATA}
    token: sample-token
`;
const SAMPLE_TIME = '2026-01-01T00:00:00Z';

function sampleFunction(): Record<string, unknown> {
  const nodes = ['pump-1', 'pump-2', 'pump-3'];
  return {
    apiVersion: 'wasmfleet.io/v1alpha1',
    kind: 'WasmFunction',
    metadata: { name: 'temp-alert', namespace: 'default', generation: 1, creationTimestamp: SAMPLE_TIME },
    spec: {
      module: { url: 'https://artifacts.example/temp-alert.wasm' },
      placement: { nodeSelector: { site: 'plant-1' } },
      rollout: { strategy: 'RollingUpdate', maxUnavailable: 1 },
    },
    status: {
      observedGeneration: 1,
      phase: 'Ready',
      currentRevision: 'r1',
      updateRevision: 'r1',
      desiredNodes: nodes.length,
      updatedNodes: nodes.length,
      readyNodes: nodes.length,
      failedNodes: 0,
      ready: `${nodes.length}/${nodes.length}`,
      conditions: [
        { type: 'Ready', status: 'True', reason: 'AllDevicesReady', lastTransitionTime: SAMPLE_TIME },
      ],
      nodes: nodes.map((node) => ({
        node,
        revision: 'r1',
        phase: 'Running',
        lastTransitionTime: SAMPLE_TIME,
      })),
      rollout: { revision: 'r1', phase: 'Complete', step: 2, percent: 100, message: 'complete' },
    },
  };
}

function sampleNode(name: string): Record<string, unknown> {
  return {
    apiVersion: 'wasmfleet.io/v1alpha1',
    kind: 'EdgeNode',
    metadata: { name, labels: { site: 'plant-1' }, creationTimestamp: SAMPLE_TIME },
    spec: {},
    status: {
      phase: 'Online',
      lastHeartbeat: SAMPLE_TIME,
      agentVersion: '0.2.0',
      sensorSummary: 'temperature',
    },
  };
}

const SAMPLE_EVENTS = [
  {
    type: 'Normal',
    reason: 'Scheduled',
    message: 'placed on 3 devices',
    count: 1,
    lastTimestamp: SAMPLE_TIME,
  },
  {
    type: 'Normal',
    reason: 'Completed',
    message: 'all 3 devices run r1',
    count: 1,
    lastTimestamp: SAMPLE_TIME,
  },
];

/** Where the build being snapshotted is (cli/bin/bundle.js, buildSnapshotBlob, sets it). */
export function buildDirOf(env: NodeJS.ProcessEnv): string | undefined {
  const dir = env.WASMFLEET_CLI_SNAPSHOT_FROM;
  return dir ? path.resolve(dir) : undefined;
}
