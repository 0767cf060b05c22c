// SPDX-License-Identifier: Apache-2.0
// What a fleet benchmark runs against: a real kube-apiserver + etcd, Mosquitto, the operator as
// its own process (so its CPU and memory are its own), and a simulated fleet (sim/swarm.ts).
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import {
  freePort,
  OPERATOR_CHART_HEAP_FLAGS,
  spawnManaged,
  startMosquitto,
  waitFor,
  type ControlPlane,
  type ManagedProcess,
  type Mosquitto,
} from '@wasmfleet/test-support';

const OPERATOR_BIN = fileURLToPath(new URL('../../operator/bin/wasmfleet-operator.ts', import.meta.url));
const EMPTY_MODULE = Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]).toString('base64');

export interface OperatorProcess {
  readonly process: ManagedProcess;
  readonly opsUrl: string;
  readonly logFile: string;
  /** A gauge or counter from its /metrics (sum over label sets). */
  metric(name: string): Promise<number>;
}

/** The broker every shard's operator and devices use; Mosquitto with $SYS every second. */
export function startBenchBroker(): Promise<Mosquitto> {
  return startMosquitto({ extraConfig: ['sys_interval 1'] });
}

/** A namespace with the module ConfigMap the benchmark's function uses. */
export async function prepareNamespace(plane: ControlPlane, namespace: string): Promise<void> {
  await plane.kubectl(['create', 'namespace', namespace]);
  const applied = await plane.kubectl(['apply', '-f', '-'], {
    stdin: JSON.stringify({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'mod', namespace },
      binaryData: { 'module.wasm': EMPTY_MODULE },
    }),
  });
  if (applied.code !== 0) throw new Error(`creating the module ConfigMap: ${applied.stderr}`);
}

/**
 * How big V8 may make the operator's heap. `chart`: what Node picks inside the pod the chart makes
 * for the run's fleet (`operator.fleetSize`, below), so RSS is the one a user's pod would have.
 * `unbounded`: Node's defaults on this host (on 24 GiB a 4 GiB old generation, and a young
 * generation that grew to 128 MiB of garbage).
 */
export type OperatorHeap = 'chart' | 'unbounded';

/**
 * The chart's heap for `devices` (charts/wasmfleet/templates/_helpers.tpl, ADR 0048): the pod's
 * limit is 165Mi + 21 KiB a device, never below 512Mi, and Node gives V8's old generation about
 * half of it. V8 then sizes the young generation from the old one: at 256 MiB or less (the 512Mi
 * floor) 1 MiB semi-spaces, above it 16 MiB. Measured in memory cgroups on this machine (Node
 * 24.21, 7 Dec 2026; heap_size_limit, and the most new space seen while allocating): 512Mi gives
 * 259 MiB and 4.3 MiB, 513Mi 305 MiB and 32 MiB, 2215Mi (100,000 devices) 1300 MiB and 32 MiB;
 * `--max-old-space-size=1107` alone gives 1299 MiB and 32 MiB, the same. Before this, runs above
 * 512Mi also passed `--max-semi-space-size=1`, which no pod had: at 100,000 devices, in one
 * window, apply took 32.5 s with it and 23.0-23.8 s without it (docs/benchmarks.md). Before
 * that, a run above ~16,900 devices got the 512Mi heap unless it passed --max-old-space-size.
 */
export function chartHeapFlags(devices: number): readonly string[] {
  const limitMi = Math.max(512, 165 + Math.floor((devices * 21) / 1024));
  if (limitMi === 512) return OPERATOR_CHART_HEAP_FLAGS;
  return [`--max-old-space-size=${Math.floor(limitMi / 2)}`];
}

/** How the operator's Node runs: its heap sizing, and Node/V8 flags to try (`--max-semi-space-size=8`). */
export interface OperatorRuntime {
  readonly heap: OperatorHeap;
  /** The devices this operator serves (sizes the `chart` heap). */
  readonly devices: number;
  readonly nodeOptions?: readonly string[];
}

export function parseOperatorHeap(value: string): OperatorHeap {
  if (value === 'chart' || value === 'unbounded') return value;
  throw new Error(`--operator-heap must be chart or unbounded, not ${JSON.stringify(value)}`);
}

export async function startOperatorProcess(
  plane: ControlPlane,
  broker: string,
  scope: { namespace: string; fleet: string },
  extraArgs: readonly string[] = [],
  runtime: OperatorRuntime,
): Promise<OperatorProcess> {
  const port = await freePort();
  const dir = await mkdtemp(path.join(tmpdir(), 'bench-operator-'));
  const logFile = path.join(dir, 'operator.log');
  const proc = spawnManaged('operator', process.execPath, {
    args: [
      ...(runtime.heap === 'chart' ? chartHeapFlags(runtime.devices) : []),
      // After the heap flags, so one of them can override them (V8 takes the last).
      ...(runtime.nodeOptions ?? []),
      OPERATOR_BIN,
      ...['--kubeconfig', plane.kubeconfigPath, '--broker', broker],
      ...['--namespace', scope.namespace, '--fleet', scope.fleet],
      ...['--ops-bind-address', `127.0.0.1:${port}`, '--workers', '8'],
      ...extraArgs,
    ],
    logFile,
  });
  const opsUrl = `http://127.0.0.1:${port}`;
  await waitFor(
    'the operator to be ready',
    async () => ((await fetch(`${opsUrl}/readyz`).catch(() => undefined))?.ok ? true : undefined),
    { timeoutMs: 300_000, intervalMs: 250 },
  );
  return {
    process: proc,
    opsUrl,
    logFile,
    metric: async (name) => {
      const text = await (await fetch(`${opsUrl}/metrics`)).text();
      let sum = 0;
      for (const line of text.split('\n'))
        if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) sum += Number(line.split(' ').pop());
      return sum;
    },
  };
}

export function customObjects(plane: ControlPlane): CustomObjectsApi {
  const kc = new KubeConfig();
  kc.loadFromFile(plane.kubeconfigPath);
  return kc.makeApiClient(CustomObjectsApi);
}
