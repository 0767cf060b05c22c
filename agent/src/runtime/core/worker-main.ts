// SPDX-License-Identifier: Apache-2.0
// Entry of one function's worker thread. It compiles (or receives the cached compiled module),
// links it against our host imports only (guest-runner.ts), reports back once, then serves
// batches of calls over the shared channel until the main thread terminates it. The main
// thread's watchdog may terminate it at any moment (deadline overrun, compile timeout, close);
// nothing here needs cleaning up.
import { parentPort, workerData } from 'node:worker_threads';
import {
  CTRL,
  OP,
  Reader,
  STATE,
  Writer,
  controlViews,
  spinUntilChanged,
  type WorkerInit,
  type WorkerStartMessage,
} from './channel.ts';
import { GuestRunner } from './guest-runner.ts';
import type { HostBridge } from './host-imports.ts';

const init = workerData as WorkerInit;
const { words: ctrl, startedAt } = controlViews(init.channel.ctrl);
const { request, response, host } = init.channel;

function post(message: WorkerStartMessage): void {
  parentPort?.postMessage(message);
}

/** Hands the channel to the main thread and blocks until it answers a host call. */
function hostCall(op: number, write: (w: Writer) => boolean): Reader | undefined {
  const w = new Writer(host);
  if (!write(w)) return undefined;
  Atomics.store(ctrl, CTRL.op, op);
  Atomics.store(ctrl, CTRL.state, STATE.hostCall);
  Atomics.notify(ctrl, CTRL.state);
  Atomics.wait(ctrl, CTRL.state, STATE.hostCall);
  return new Reader(host);
}

const bridge: HostBridge = {
  stateGet(key) {
    const r = hostCall(OP.stateGet, (w) => w.reserve(key.length + 8) && (w.bytes(key), true));
    if (!r || Atomics.load(ctrl, CTRL.result) < 0) return undefined;
    return r.bytes();
  },
  stateSet(key, value) {
    const r = hostCall(
      OP.stateSet,
      (w) => w.reserve(key.length + value.length + 8) && (w.bytes(key), w.bytes(value), true),
    );
    return r !== undefined && Atomics.load(ctrl, CTRL.result) === 0;
  },
};

const runner = new GuestRunner({
  outputs: init.outputs,
  config: init.config,
  memoryBytes: init.memoryBytes,
  bridge,
});

function start(): boolean {
  let module = init.module;
  let compileMs = 0;
  try {
    if (!module) {
      const t0 = performance.now();
      module = new WebAssembly.Module(init.bytes ?? new Uint8Array());
      compileMs = performance.now() - t0;
    }
  } catch (error) {
    post({
      type: 'failed',
      reason: 'InvalidModule',
      message: `the module does not compile: ${(error as Error).message}`,
    });
    return false;
  }
  const linked = runner.link(module);
  if (!linked.ok) {
    post({ type: 'failed', reason: linked.reason, message: linked.message });
    return false;
  }
  post({
    type: 'instantiated',
    ...(init.module ? {} : { module }),
    compileMs,
    instantiateUs: linked.instantiateUs,
  });
  return true;
}

/** After answering, the worker polls briefly: under a stream the next batch is often close. */
const SPIN_WORKER_US = 20;

function serve(): never {
  for (;;) {
    const state = Atomics.load(ctrl, CTRL.state);
    if (state !== STATE.request) {
      if (!spinUntilChanged(ctrl, state, SPIN_WORKER_US)) Atomics.wait(ctrl, CTRL.state, state);
      continue;
    }
    const op = Atomics.load(ctrl, CTRL.op);
    const w = new Writer(response);
    if (op === OP.init) {
      startedAt[0] = Date.now();
      Atomics.store(ctrl, CTRL.progress, 0);
      runner.runOne(w, undefined);
      Atomics.store(ctrl, CTRL.done, 1);
    } else {
      runner.runBatch(
        w,
        new Reader(request),
        Atomics.load(ctrl, CTRL.count),
        (i) => {
          // The watchdog reads these to give every input its own deadline.
          startedAt[0] = Date.now();
          Atomics.store(ctrl, CTRL.progress, i);
        },
        (i) => Atomics.store(ctrl, CTRL.done, i + 1),
      );
    }
    Atomics.store(ctrl, CTRL.state, STATE.response);
    Atomics.notify(ctrl, CTRL.state);
  }
}

if (start()) serve();
