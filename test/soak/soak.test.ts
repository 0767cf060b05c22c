// SPDX-License-Identifier: Apache-2.0
// The soak: WASMFLEET_SOAK_MINUTES (default 10) of continuous deploy → replace → trapping canary
// → delete cycles through the real stack (operator and agent binaries, Mosquitto, the shared
// kube-apiserver) with sensor traffic flowing, while every process's RSS, V8 heap, descriptors
// and threads are sampled. After a warm-up it fits growth per hour and holds each process to
// the bounds in verdict.ts, then checks the system still works: the steady function Ready and
// producing outputs, nothing left of the deleted functions, no stray workers or processes.
// `npm run soak -- --minutes 60` runs a longer one; samples land in bench/results/.
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '@wasmfleet/test-support';
import { deployReady, runCycle, settledReady } from './cycles.ts';
import { childrenOf, metricValue, processStats } from './process-stats.ts';
import { Sampler, samplesCsv } from './sampler.ts';
import { startStack, type Stack } from './stack.ts';
import { table, verdict } from './verdict.ts';

const MINUTES = Number(process.env.WASMFLEET_SOAK_MINUTES ?? '10');
if (!(MINUTES >= 2))
  throw new Error(`WASMFLEET_SOAK_MINUTES=${process.env.WASMFLEET_SOAK_MINUTES}: use 2 or more`);
const DURATION_MS = MINUTES * 60_000;
/**
 * Start-up allocations (code caches, JIT, first module compiles, the operator's 2-minute event
 * window filling) are not leaks: skip them. Long runs skip the first 12 minutes.
 */
const WARMUP_MS = Math.min(12 * 60_000, DURATION_MS / 4);
/** A round of cycles between two quiet points (see the loop below and verdict.ts). */
const WINDOW_MS = Math.max(60_000, DURATION_MS / 60);
const SAMPLE_MS = 3_000;
/** After the last function stops, time for its worker thread to exit before a quiet sample. */
const QUIET_SETTLE_MS = 1_000;
/** Cycles run side by side, each on its own function, so create/delete churn overlaps. */
const LANES = 2;
const AGENTS = 3;
/** Temperature and humidity per device every 100 ms: 20 messages/s per device. */
const SENSOR_INTERVAL_MS = 100;
/** Threads an agent may have over its count before the cycles (libuv pool threads start lazily). */
const THREAD_SLACK = 4;
const RESULTS_DIR = fileURLToPath(new URL('../../bench/results/', import.meta.url));

describe(`soak: ${MINUTES} minutes of deploy/replace/trap/delete through the real stack`, () => {
  let stack: Stack | undefined;
  after(async () => {
    await stack?.stop();
  });

  it('completes cycles without growth beyond the bounds, and the system works at the end', async () => {
    stack = await startStack({ agents: AGENTS, sensorIntervalMs: SENSOR_INTERVAL_MS });
    const s = stack;
    await waitFor(
      'every agent online',
      () => (s.nodes.every((n) => s.monitor.status.has(n)) ? true : undefined),
      { timeoutMs: 60_000 },
    );
    await deployReady(s, 'steady', 30);
    const baseline = new Map<number, number>();
    for (const a of s.agents) baseline.set(a.pid, (await processStats(a.pid)).threads);

    const sampler = new Sampler(s.watched, SAMPLE_MS);
    sampler.start();
    const deadline = Date.now() + DURATION_MS;
    let cycles = 0;
    const cycleMs: number[] = [];
    const next = Array.from({ length: LANES }, () => 0);
    // Rounds of one window: both lanes cycle until the round ends, then the fleet goes quiet (no
    // cycle in flight, every agent down to the steady function) and every process is sampled
    // once more. The verdict judges those quiet samples (verdict.ts says why).
    while (Date.now() < deadline) {
      const roundEnd = Math.min(deadline, Date.now() + WINDOW_MS);
      await Promise.all(
        Array.from({ length: LANES }, async (_, lane) => {
          while (Date.now() < roundEnd) {
            const t0 = Date.now();
            const n = next[lane] ?? 0;
            next[lane] = n + 1;
            await runCycle(s, `cycle-${lane}-${n}`);
            cycleMs.push(Date.now() - t0);
            cycles++;
          }
        }),
      );
      await untilQuiet(s);
      await sampler.sampleOnce(true);
    }
    await sampler.stop();

    // Correct at the end: only the steady function is left, Ready everywhere, outputs flowing.
    const left = await s.functions();
    assert.deepEqual(
      left.map((f) => f.metadata.name),
      ['steady'],
      'every cycle function was deleted',
    );
    assert.ok(settledReady(left[0], AGENTS), `steady is not Ready: ${JSON.stringify(left[0]?.status)}`);
    const outputsBefore = s.monitor.outputs;
    await waitFor(
      'outputs still flowing',
      () => (s.monitor.outputs > outputsBefore + AGENTS ? true : undefined),
      {
        timeoutMs: 60_000,
      },
    );
    for (const [i, agent] of s.agents.entries()) {
      const watched = s.watched.find((w) => w.pid === agent.pid);
      const text = await (await fetch(watched?.metricsUrl ?? '')).text();
      assert.equal(
        metricValue(text, 'wasmfleet_agent_functions'),
        1,
        `agent ${i} runs only the steady function`,
      );
      const report = s.monitor.status.get(s.nodes[i] ?? '')?.functions ?? [];
      assert.deepEqual(
        report.map((f) => [f.name, f.phase]),
        [['steady', 'Running']],
        `agent ${i} reports only steady, Running`,
      );
      const threads = (await processStats(agent.pid)).threads;
      assert.ok(
        threads <= (baseline.get(agent.pid) ?? 0) + THREAD_SLACK,
        `agent ${i} has ${threads} threads, ${baseline.get(agent.pid)} before the cycles: workers of deleted functions are still alive`,
      );
      assert.deepEqual(await childrenOf(agent.pid), [], `agent ${i} has child processes left`);
    }
    assert.deepEqual(await childrenOf(s.operator.pid), [], 'the operator has child processes left');

    const rows = verdict(sampler.samples, WARMUP_MS, WINDOW_MS);
    const summary = {
      date: new Date().toISOString(),
      minutes: MINUTES,
      warmupMs: WARMUP_MS,
      windowMs: WINDOW_MS,
      lanes: LANES,
      agents: AGENTS,
      cycles,
      cycleSecondsMedian: median(cycleMs) / 1000,
      messagesProcessed: s.monitor.messagesProcessed(),
      outputs: s.monitor.outputs,
      samples: sampler.samples.length,
      sampleFailures: sampler.failures,
      growth: rows,
    };
    const stamp = summary.date.replace(/[:.]/g, '-');
    await mkdir(RESULTS_DIR, { recursive: true });
    await writeFile(path.join(RESULTS_DIR, `soak-${stamp}.json`), JSON.stringify(summary, null, 2));
    await writeFile(path.join(RESULTS_DIR, `soak-${stamp}.csv`), samplesCsv(sampler.samples));
    console.log(
      [
        `soak: ${MINUTES} min, ${cycles} cycles (median ${summary.cycleSecondsMedian.toFixed(1)} s), ` +
          `${summary.messagesProcessed} messages processed, ${summary.outputs} outputs, ${summary.samples} samples`,
        table(rows),
        `samples: bench/results/soak-${stamp}.csv`,
      ].join('\n'),
    );

    assert.ok(cycles >= LANES, `only ${cycles} cycles completed`);
    const over = rows.filter((r) => !r.ok);
    assert.deepEqual(
      over.map((r) => `${r.process} ${r.metric}`),
      [],
      `growth beyond the bounds (or too few windows to fit):\n${table(rows)}`,
    );
  });
});

/** Every agent runs only the steady function (its /metrics), and its workers had time to exit. */
async function untilQuiet(s: Stack): Promise<void> {
  await waitFor(
    'every agent down to the steady function',
    async () => {
      for (const w of s.watched) {
        if (!w.name.startsWith('agent') || !w.metricsUrl) continue;
        const text = await (await fetch(w.metricsUrl)).text();
        if (metricValue(text, 'wasmfleet_agent_functions') !== 1) return undefined;
      }
      return true;
    },
    { timeoutMs: 60_000, intervalMs: 250 },
  );
  await sleep(QUIET_SETTLE_MS);
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}
