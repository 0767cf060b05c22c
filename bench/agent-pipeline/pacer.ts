// SPDX-License-Identifier: Apache-2.0
// A sensor that publishes at an exact rate, for the latency benchmark. It runs in its own worker
// thread and sleeps with Atomics.wait (a futex with a sub-millisecond timeout), so every message
// leaves on its slot: setTimeout-per-message pacing fires late and in bursts (1 ms timer
// granularity), which is what dominated both sides' p99 before. Between slots it lets its event
// loop turn once, so mqtt.js flushes the write. The sink stays on the main thread, idle in epoll,
// so it notices arrivals at once. One pacer serves every contender of a run (a message
// { topic, count } starts a series; it answers { gc } when done), so its code is equally warm for
// all of them.
import { parentPort, workerData } from 'node:worker_threads';
import mqtt from 'mqtt';
import { gcLog } from './gc-log.ts';

interface PacerData {
  readonly url: string;
  readonly perSecond: number;
}

const { url, perSecond } = workerData as PacerData;
const client = await mqtt.connectAsync(url, { protocolVersion: 5 });
(client.stream as Partial<{ setNoDelay(on: boolean): void }>).setNoDelay?.(true);
const sleeper = new Int32Array(new SharedArrayBuffer(4));
const periodMs = 1000 / perSecond;
// Its own garbage collections ([start epoch ms, ms, kind]) during a series: a pause here delays
// messages before they reach the process under test (the --tail analysis tells them apart).
const gc = gcLog();

async function series(topic: string, count: number): Promise<void> {
  const start = performance.now() + 50;
  for (let i = 0; i < count; i++) {
    const slot = start + i * periodMs;
    const ahead = slot - performance.now();
    if (ahead > 0) Atomics.wait(sleeper, 0, 0, ahead);
    const payload = Buffer.alloc(16);
    // Epoch milliseconds with sub-µs resolution: comparable across threads, unlike performance.now().
    payload.writeDoubleLE(performance.timeOrigin + performance.now(), 0);
    client.publish(topic, payload, { qos: 0 });
    await new Promise((r) => setImmediate(r));
  }
}

parentPort?.on('message', (m: { topic?: string; count?: number }) => {
  if (m.topic === undefined) {
    void client.endAsync().then(() => process.exit(0));
    return;
  }
  gc.fresh();
  void series(m.topic, m.count ?? 0).then(() => parentPort?.postMessage({ gc: gc.take() }));
});
parentPort?.postMessage({ ready: true });
