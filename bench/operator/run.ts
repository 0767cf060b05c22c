// SPDX-License-Identifier: Apache-2.0
// End-to-end operator benchmark, for 100 and 1,000 simulated devices on real MQTT connections
// (Mosquitto), a real API server and the real operator:
//   1. `kubectl apply` of a WasmFunction → every device Ready (target ≤ 5 s for 1,000, the
//      Kubernetes pod-startup SLO);
//   2. a new revision rolled out three ways without pauses — Rolling 25 % (the default), Rolling
//      100 %, Canary 10/50/100 — until every device REPORTS it Running, beside the DaemonSet
//      anchor (~5 pods/min at default settings).
// API writes are counted by the API server itself. Prints tables; never fails on timing.
//
//   node bench/operator/run.ts [--devices 100,1000]
import { mkdir, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import {
  startControlPlane,
  startMosquitto,
  startSimulatedDevice,
  waitFor,
  type SimulatedDevice,
} from '@wasmfleet/test-support';
import { startOperator } from '../../operator/src/operator.ts';
import { apiWrites } from './apiserver-writes.ts';

const { values } = parseArgs({ options: { devices: { type: 'string', default: '100,1000' } } });
const sizes = values.devices.split(',').map(Number);
const EMPTY_MODULE = Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]).toString('base64');

interface Phase {
  readonly ms: number;
  readonly writes: number;
}
interface Row {
  readonly devices: number;
  readonly register: Phase;
  readonly apply: Phase;
  readonly rolling25: Phase;
  readonly rolling100: Phase;
  readonly canary: Phase;
}

const plane = await startControlPlane();
const rows: Row[] = [];
try {
  for (const n of sizes) rows.push(await measure(n));
} finally {
  await plane.stop();
}

console.log(
  '\nkubectl apply → all devices Ready (real API server, Mosquitto, operator; simulated devices)\n',
);
console.log(
  '| devices | register all (s) | API writes | apply → all Ready (s) | API writes | vs the 5 s pod-startup SLO |',
);
console.log('|---:|---:|---:|---:|---:|---:|');
for (const r of rows) {
  console.log(
    `| ${r.devices} | ${s(r.register)} | ${r.register.writes} | ${s(r.apply)} | ${r.apply.writes} | ${(5000 / r.apply.ms).toFixed(1)}× faster |`,
  );
}
console.log(
  '\nA new revision to every device (done = every device reports it Running; writes counted until quiet)\n',
);
console.log(
  '| devices | Rolling 25 % (s) | writes | Rolling 100 % (s) | writes | Canary 10/50/100 (s) | writes | DaemonSet at ~5 pods/min |',
);
console.log('|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const r of rows) {
  const anchorMs = (r.devices / 5) * 60_000;
  console.log(
    `| ${r.devices} | ${s(r.rolling25)} | ${r.rolling25.writes} | ${s(r.rolling100)} | ${r.rolling100.writes} | ${s(r.canary)} | ${r.canary.writes} | ${(anchorMs / 60_000).toFixed(0)} min (${(anchorMs / r.rolling25.ms).toFixed(0)}× slower than Rolling 25 %) |`,
  );
}
await mkdir(new URL('../results/', import.meta.url), { recursive: true });
await writeFile(
  new URL('../results/operator.json', import.meta.url),
  JSON.stringify({ date: new Date().toISOString(), rows }, null, 2),
);

/** Seconds, two decimals. */
function s(p: Phase): string {
  return (p.ms / 1000).toFixed(2);
}

/** The write count once it has stopped moving for 2 s: everything a phase caused. */
async function settled(count: () => Promise<number>): Promise<number> {
  let last = await count();
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const now = await count();
    if (now === last) return now;
    last = now;
  }
}

async function measure(n: number): Promise<Row> {
  const broker = await startMosquitto();
  const ns = `bench-${n}`;
  const fleet = `bench-${n}`;
  await plane.kubectl(['create', 'namespace', ns]);
  await plane.kubectl(['apply', '-f', '-'], {
    stdin: JSON.stringify({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'mod', namespace: ns },
      binaryData: { 'module.wasm': EMPTY_MODULE },
    }),
  });
  const kc = new KubeConfig();
  kc.loadFromFile(plane.kubeconfigPath);
  const operator = startOperator({
    kubeConfig: kc,
    broker: { url: broker.url, syncQuietMs: 200 },
    leaderElection: false,
    scope: { namespace: ns, fleet },
    workers: 8,
    log: () => undefined,
  });
  await operator.ready;
  const devices: SimulatedDevice[] = [];
  const count = (): Promise<number> => apiWrites(plane.server, plane.token, plane.caPem);
  const status = async (): Promise<string[]> =>
    (
      await plane.kubectl([
        'get',
        'wasmfunction',
        'f',
        '-n',
        ns,
        '-o',
        'jsonpath={.status.updatedNodes}/{.status.readyNodes}/{.metadata.generation}/{.status.observedGeneration}/{.status.currentRevision}/{.status.updateRevision}',
      ])
    ).stdout.split('/');
  const timed = async (
    what: string,
    act: () => Promise<unknown>,
    done: () => Promise<boolean>,
  ): Promise<Phase> => {
    const before = await count();
    const start = performance.now();
    await act();
    await waitFor(what, async () => ((await done()) ? true : undefined), {
      timeoutMs: 600_000,
      intervalMs: 20,
    });
    const ms = performance.now() - start;
    return { ms, writes: (await settled(count)) - before };
  };
  const allOn = async (): Promise<boolean> => {
    const [u, r, g, og, cur, upd] = await status();
    return u === String(n) && r === String(n) && g === og && cur === upd;
  };
  try {
    const register = await timed(
      'all devices registered',
      async () => {
        for (let i = 0; i < n; i += 50) {
          const batch = Array.from({ length: Math.min(50, n - i) }, (_, j) =>
            startSimulatedDevice({
              brokerUrl: broker.url,
              node: `${fleet}-dev-${String(i + j).padStart(5, '0')}`,
              sensors: ['temperature'],
              heartbeatSeconds: 30,
            }),
          );
          devices.push(...(await Promise.all(batch)));
        }
      },
      async () => {
        const r = await plane.kubectl([
          'get',
          'edgenodes',
          '-l',
          `wasmfleet.io/fleet=${fleet}`,
          '-o',
          'jsonpath={.items[*].status.phase}',
        ]);
        return r.stdout.split(' ').filter((p) => p === 'Online').length === n;
      },
    );
    const apply = await timed(
      'all Ready',
      () =>
        plane.kubectl(['apply', '-n', ns, '-f', '-'], {
          stdin: JSON.stringify({
            apiVersion: 'wasmfleet.io/v1alpha1',
            kind: 'WasmFunction',
            metadata: { name: 'f' },
            spec: {
              module: { configMap: { name: 'mod', key: 'module.wasm' } },
              placement: { sensors: ['temperature'] },
              inputs: [{ topic: 'sensors/{node}/temperature' }],
            },
          }),
        }),
      allOn,
    );
    const rollout = (level: string, strategy: Record<string, unknown>) =>
      timed(
        `revision ${level} everywhere`,
        () =>
          plane.kubectl([
            'patch',
            'wasmfunction',
            'f',
            '-n',
            ns,
            '--type=merge',
            '-p',
            JSON.stringify({ spec: { config: { LEVEL: level }, rollout: strategy } }),
          ]),
        allOn,
      );
    const rolling25 = await rollout('2', { strategy: 'Rolling', maxUnavailable: '25%' });
    const rolling100 = await rollout('3', { strategy: 'Rolling', maxUnavailable: '100%' });
    const canary = await rollout('4', {
      strategy: 'Canary',
      steps: [{ percent: 10 }, { percent: 50 }, { percent: 100 }],
    });
    console.error(
      `${n} devices: register ${s(register)} s, apply ${s(apply)} s, rolling25 ${s(rolling25)} s, rolling100 ${s(rolling100)} s, canary ${s(canary)} s`,
    );
    return { devices: n, register, apply, rolling25, rolling100, canary };
  } finally {
    await operator.stop();
    await Promise.allSettled(devices.map((d) => d.stop()));
    await broker.dispose();
  }
}
