// SPDX-License-Identifier: Apache-2.0
// The latency benchmark's sink, in its own worker thread: a small heap of its own, so its garbage
// collections stay short and land on no contender (on the benchmark's main thread, whose heap
// holds everything else of the run, a sink had 8–33 ms mark-compacts in the middle of a series).
// It writes each arrival (send time from the payload, arrival time) into shared arrays the main
// thread reads after the series, and reports its own GCs. Messages: { subscribe } → 'ready',
// { done } (the series' messages are all sent) → after 300 ms { count, gc }; { end } closes.
import { parentPort, workerData } from 'node:worker_threads';
import mqtt from 'mqtt';
import { gcLog } from './gc-log.ts';

interface SinkData {
  readonly url: string;
  readonly sentMs: SharedArrayBuffer;
  readonly receivedMs: SharedArrayBuffer;
}

const { url, sentMs: sentBuffer, receivedMs: receivedBuffer } = workerData as SinkData;
const sentMs = new Float64Array(sentBuffer);
const receivedMs = new Float64Array(receivedBuffer);
let count = 0;
const gc = gcLog();
const client = await mqtt.connectAsync(url, { protocolVersion: 5 });
(client.stream as Partial<{ setNoDelay(on: boolean): void }>).setNoDelay?.(true);
client.on('message', (_t, p) => {
  if (count >= sentMs.length) return;
  receivedMs[count] = performance.timeOrigin + performance.now();
  sentMs[count++] = p.readDoubleLE(0);
});

let topic: string | undefined;
parentPort?.on('message', (m: { subscribe?: string; done?: true; end?: true }) => {
  if (m.subscribe !== undefined) {
    topic = m.subscribe;
    count = 0;
    gc.fresh();
    void client.subscribeAsync(topic, { qos: 0 }).then(() => parentPort?.postMessage('ready'));
  } else if (m.done) {
    setTimeout(() => {
      const series = topic;
      void (series ? client.unsubscribeAsync(series) : Promise.resolve()).then(() =>
        parentPort?.postMessage({ count, gc: gc.take() }),
      );
    }, 300);
  } else if (m.end) {
    void client.endAsync().then(() => process.exit(0));
  }
});
parentPort?.postMessage('started');
