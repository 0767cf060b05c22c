// SPDX-License-Identifier: Apache-2.0
// The live view of `dev up` keeps the lines that say how to connect on screen (issue 14: the
// view cleared the screen and hid the printed `export KUBECONFIG` line). Each frame is drawn
// from the top of a cleared screen; one taller than the terminal would scroll them away.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { connectionLines } from '../src/dev/connection-lines.ts';
import { liveViewScreen } from '../src/dev/live-view.ts';

const header = [
  'WasmFleet is up in 30.0 s',
  ...connectionLines('/home/u/.wasmfleet/dev/kubeconfig', 'mqtt://127.0.0.1:1883'),
];
const node = (i: number) => ({
  apiVersion: 'wasmfleet.io/v1alpha1',
  kind: 'EdgeNode',
  metadata: { name: `dev-sensor-${i}`, creationTimestamp: new Date().toISOString() },
  status: { phase: 'Online', sensors: [{ name: 'temperature' }] },
});
const frame = (devices: number, rows: number | undefined) =>
  liveViewScreen({
    header,
    nodes: Array.from({ length: devices }, (_, i) => node(i + 1)),
    functions: [],
    inRate: 12,
    outRate: 0.5,
    latest: [],
    rows,
  }).split('\n');

it('every frame starts with the connection lines, and fits a 24-row terminal with 50 devices', () => {
  const lines = frame(50, 24);
  assert.ok(lines.length <= 24, `${lines.length} lines for 24 rows`);
  assert.match(lines[2] ?? '', /^ {2}export KUBECONFIG=\/home\/u\/\.wasmfleet\/dev\/kubeconfig /);
  assert.match(lines[3] ?? '', /^ {2}export WASMFLEET_BROKER=mqtt:\/\/127\.0\.0\.1:1883$/);
  assert.ok(lines.some((l) => /^… \d+ more \(wasmfleet get nodes\)$/.test(l)));
  assert.ok(lines.includes('LATEST OUTPUTS'));
});

it('a fleet that fits is shown whole', () => {
  const lines = frame(3, 40);
  assert.deepEqual(
    lines.filter((l) => l.startsWith('dev-sensor-')).map((l) => l.split(/\s+/)[0]),
    ['dev-sensor-1', 'dev-sensor-2', 'dev-sensor-3'],
  );
  assert.ok(!lines.some((l) => l.includes('more (wasmfleet get nodes)')));
});
