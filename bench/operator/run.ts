// End-to-end operator benchmark: `kubectl apply` of a WasmFunction → every device Ready, for 100
// and 1,000 simulated devices on real MQTT connections (Mosquitto), a real API server and the
// real operator. Prints time and API writes per phase; never fails on timing.
//
//   node bench/operator/run.ts [--devices 100,1000]
import { writeFile, mkdir } from 'node:fs/promises';
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

interface Row {
  devices: number;
  registerMs: number;
  registerWrites: number;
  applyToReadyMs: number;
  applyWrites: number;
  editToReadyMs: number;
  editWrites: number;
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
  '| devices | register all (s) | API writes | apply → all Ready (s) | API writes (settled) | edit → all Ready (s) | API writes (settled) | vs 5 s pod-startup SLO |',
);
console.log('|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const r of rows) {
  console.log(
    `| ${r.devices} | ${(r.registerMs / 1000).toFixed(2)} | ${r.registerWrites} | ${(r.applyToReadyMs / 1000).toFixed(2)} | ${r.applyWrites} | ${(r.editToReadyMs / 1000).toFixed(2)} | ${r.editWrites} | ${(5000 / r.applyToReadyMs).toFixed(1)}× faster |`,
  );
}
await mkdir(new URL('../results/', import.meta.url), { recursive: true });
await writeFile(
  new URL('../results/operator.json', import.meta.url),
  JSON.stringify({ date: new Date().toISOString(), rows }, null, 2),
);

/** The write count once it has stopped moving for 2 s: everything a phase caused, not just what came before Ready. */
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
  const count = async (): Promise<number> => apiWrites(plane.server, plane.token, plane.caPem);
  const fnReady = async (want: string) => {
    const r = await plane.kubectl(['get', 'wasmfunction', 'f', '-n', ns, '-o', 'jsonpath={.status.ready}']);
    return r.stdout === want ? true : undefined;
  };
  try {
    let writes = await count();
    let t0 = performance.now();
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
    await waitFor(
      'all devices registered',
      async () => {
        const r = await plane.kubectl([
          'get',
          'edgenodes',
          '-l',
          `wasmfleet.io/fleet=${fleet}`,
          '-o',
          'jsonpath={.items[*].status.phase}',
        ]);
        return r.stdout.split(' ').filter((p) => p === 'Online').length === n ? true : undefined;
      },
      { timeoutMs: 300_000, intervalMs: 250 },
    );
    const registerMs = performance.now() - t0;
    const registerWrites = (await settled(count)) - writes;

    writes = await count();
    t0 = performance.now();
    await plane.kubectl(['apply', '-n', ns, '-f', '-'], {
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
    });
    await waitFor('all Ready', () => fnReady(`${n}/${n}`), { timeoutMs: 300_000, intervalMs: 20 });
    const applyToReadyMs = performance.now() - t0;
    const applyWrites = (await settled(count)) - writes;

    writes = await count();
    t0 = performance.now();
    await plane.kubectl([
      'patch',
      'wasmfunction',
      'f',
      '-n',
      ns,
      '--type=merge',
      '-p',
      '{"spec":{"config":{"LEVEL":"2"}}}',
    ]);
    await waitFor(
      'new revision everywhere',
      async () => {
        const r = await plane.kubectl([
          'get',
          'wasmfunction',
          'f',
          '-n',
          ns,
          '-o',
          'jsonpath={.status.updatedNodes}/{.status.readyNodes}/{.metadata.generation}/{.status.observedGeneration}',
        ]);
        const [u, rd, g, og] = r.stdout.split('/');
        return u === String(n) && rd === String(n) && g === og ? true : undefined;
      },
      { timeoutMs: 300_000, intervalMs: 20 },
    );
    const editToReadyMs = performance.now() - t0;
    const editWrites = (await settled(count)) - writes;
    console.error(
      `${n} devices: register ${registerMs.toFixed(0)} ms, apply→Ready ${applyToReadyMs.toFixed(0)} ms (${applyWrites} writes), edit→Ready ${editToReadyMs.toFixed(0)} ms (${editWrites} writes)`,
    );
    return { devices: n, registerMs, registerWrites, applyToReadyMs, applyWrites, editToReadyMs, editWrites };
  } finally {
    await operator.stop();
    await Promise.allSettled(devices.map((d) => d.stop()));
    await broker.dispose();
  }
}
