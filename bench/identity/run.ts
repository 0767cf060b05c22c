// SPDX-License-Identifier: Apache-2.0
// What per-device identity costs (ADR 0012), against a real Mosquitto with the dynamic security
// plugin and a real API server, through the operator's own DeviceIdentities:
//   1. registering N devices: each one's Secret, client, role and control ACLs (what the operator
//      does for a fleet at start or when EdgeNodes are created);
//   2. the grant made before a desired document is published (one function: input, output,
//      module), per device, one at a time — the latency it adds to a placement;
//   3. the narrowing once a device reports the function gone.
// Prints a table; never fails on timing.
//
//   node bench/identity/run.ts [--devices 100,1000] [--sample 200]
import { parseArgs } from 'node:util';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { silentLogger, type DesiredFunction, type DesiredState } from '@wasmfleet/api';
import { startControlPlane, startMosquitto } from '@wasmfleet/test-support';
import { FleetBridge } from '../../operator/src/bridge/fleet-bridge.ts';
import { DeviceIdentities } from '../../operator/src/identity/device-identities.ts';

const { values } = parseArgs({
  options: { devices: { type: 'string', default: '100,1000' }, sample: { type: 'string', default: '200' } },
});
const sizes = values.devices.split(',').map(Number);
const sample = Number(values.sample);
const ADMIN = 'wasmfleet-operator';
const PASSWORD = 'bench-admin-password';
const WORKERS = 4;

const fn = (revision: string): DesiredFunction => ({
  namespace: 'bench',
  name: 'temp-alert',
  revision,
  module: { sha256: 'b'.repeat(64), size: 8 },
  inputs: [{ topic: 'sensors/{node}/temperature', qos: 1, format: 'senml' }],
  outputs: [{ topic: 'alerts/{node}/temperature', qos: 1, retain: false }],
  config: {},
  limits: { memoryBytes: 1 << 20, timeoutMs: 50, maxModuleBytes: 1 << 20, maxPayloadBytes: 1 << 16 },
});

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

interface Row {
  devices: number;
  registerMs: number;
  grantP50: number;
  grantP99: number;
  narrowP50: number;
  narrowP99: number;
}

const plane = await startControlPlane();
const rows: Row[] = [];
try {
  for (const n of sizes) {
    const broker = await startMosquitto({
      dynamicSecurity: { adminUsername: ADMIN, adminPassword: PASSWORD },
    });
    const namespace = `bench-identity-${n}`;
    await plane.kubectl(['create', 'namespace', namespace]);
    const kc = new KubeConfig();
    kc.loadFromFile(plane.kubeconfigPath);
    const bridge = await FleetBridge.connect({
      url: broker.url,
      username: ADMIN,
      password: PASSWORD,
      dynamicSecurity: true,
      syncQuietMs: 50,
    });
    try {
      if (!bridge.dynsec) throw new Error('the bridge has no dynamic-security client');
      const identities = new DeviceIdentities({
        dynsec: bridge.dynsec,
        secrets: { core: kc.makeApiClient(CoreV1Api), namespace },
        edgeNodeUid: () => undefined,
        log: silentLogger,
      });
      const nodes = Array.from({ length: n }, (_, i) => `bench-${n}-${i}`);
      // As many at once as the operator's reconcile workers (default 4) do.
      const t0 = performance.now();
      const queue = [...nodes];
      await Promise.all(
        Array.from({ length: WORKERS }, async () => {
          for (let node = queue.shift(); node !== undefined; node = queue.shift())
            await identities.sync(node, undefined, undefined);
        }),
      );
      const registerMs = performance.now() - t0;

      const grants: number[] = [];
      const narrows: number[] = [];
      for (const node of nodes.slice(0, sample)) {
        const doc: DesiredState = { version: 1, node, generation: 1, functions: [fn('r1')] };
        let t = performance.now();
        await identities.beforePublish(doc, undefined);
        grants.push(performance.now() - t);
        const next: DesiredState = { version: 1, node, generation: 2, functions: [] };
        await identities.beforePublish(next, doc);
        t = performance.now();
        await identities.sync(node, next, { version: 1, node, state: 'online', functions: [] });
        narrows.push(performance.now() - t);
      }
      rows.push({
        devices: n,
        registerMs,
        grantP50: percentile(grants, 50),
        grantP99: percentile(grants, 99),
        narrowP50: percentile(narrows, 50),
        narrowP99: percentile(narrows, 99),
      });
    } finally {
      await bridge.close();
      await broker.dispose();
    }
  }
} finally {
  await plane.stop();
}

const f = (ms: number) => ms.toFixed(1);
console.log(
  '| devices | register all (Secret + client + role) | per device | grant before publish p50 / p99 | narrow p50 / p99 |',
);
console.log(
  '| ------- | ------------------------------------- | ---------- | ------------------------------ | ---------------- |',
);
for (const r of rows) {
  console.log(
    `| ${r.devices} | ${(r.registerMs / 1000).toFixed(2)} s | ${f(r.registerMs / r.devices)} ms | ${f(r.grantP50)} / ${f(r.grantP99)} ms | ${f(r.narrowP50)} / ${f(r.narrowP99)} ms |`,
  );
}
