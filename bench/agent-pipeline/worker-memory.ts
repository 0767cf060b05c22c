// SPDX-License-Identifier: Apache-2.0
// Where a function's memory goes: RSS per live worker thread, bare (an empty ES module that
// stays alive) and as a function (loadFunction with echo.wat, module compiled once and shared),
// with the agent's worker resource limits and without: 10 of each after one warm-up, so the
// figures are per extra worker. Each kind runs in a fresh process (memory a terminated worker
// gave back to malloc would be reused by the next kind and hide its cost). Plain JavaScript
// workers (no type stripping).
//   node bench/agent-pipeline/worker-memory.ts
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Worker, type ResourceLimits } from 'node:worker_threads';
import wabtInit from 'wabt';
import { loadFunction, type LoadedFunction } from '@wasmfleet/agent';

const COUNT = 10;
const AGENT_LIMITS: ResourceLimits = {
  maxOldGenerationSizeMb: 32,
  maxYoungGenerationSizeMb: 4,
  stackSizeMb: 4,
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const rssMb = (): number => process.memoryUsage().rss / 1048576;

async function perExtra(start: () => Promise<() => Promise<void>>): Promise<number> {
  const stops = [await start()];
  await sleep(500);
  const before = rssMb();
  for (let i = 0; i < COUNT; i++) stops.push(await start());
  await sleep(1000);
  const perWorker = (rssMb() - before) / COUNT;
  for (const stop of stops) await stop();
  await sleep(300);
  return +perWorker.toFixed(2);
}

const dir = await mkdtemp(path.join(tmpdir(), 'wf-worker-memory-'));
const bare = path.join(dir, 'bare.mjs');
// Stays alive blocked on a futex, as a function worker does between calls.
await writeFile(
  bare,
  "import { parentPort } from 'node:worker_threads';\nparentPort.postMessage('up');\nAtomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);\n",
);
const bareWorker = (resourceLimits?: ResourceLimits) => (): Promise<() => Promise<void>> =>
  new Promise((resolve) => {
    const w = new Worker(bare, resourceLimits ? { resourceLimits } : {});
    w.once('message', () =>
      resolve(async () => {
        await w.terminate();
      }),
    );
  });

const wabt = await wabtInit();
const echo = wabt
  .parseWat('echo.wat', await readFile(path.join(import.meta.dirname, 'echo.wat'), 'utf8'))
  .toBinary({})
  .buffer.slice();
const options = { outputs: ['o'], config: {}, limits: { memoryBytes: 1 << 20, timeoutMs: 100 } };
const functionWorker = async (): Promise<() => Promise<void>> => {
  const fn: LoadedFunction = await loadFunction(echo, options);
  await fn.invoke({ topic: 't', payload: new Uint8Array(16), timestampMs: Date.now() });
  return () => fn.close();
};

const KINDS = {
  bareWorkerMb: bareWorker(),
  bareWorkerAgentLimitsMb: bareWorker(AGENT_LIMITS),
  functionWorkerMb: functionWorker,
} as const;
const kind = process.argv[2] as keyof typeof KINDS | undefined;
try {
  if (kind) {
    console.log(await perExtra(KINDS[kind]));
  } else {
    const results: Record<string, number> = {};
    for (const k of Object.keys(KINDS)) {
      results[k] = Number(execFileSync(process.execPath, [import.meta.filename, k], { encoding: 'utf8' }));
    }
    console.log(JSON.stringify(results, null, 2));
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
