#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// wasmfleet-agent: the device runtime as a process. Stops cleanly on SIGINT/SIGTERM (publishing
// an offline status); a SIGKILL is covered by the retained last will and the persistent session.
import { ConfigError, HELP, parseConfig } from '../src/cli/config.ts';
import { serveAgentMetrics } from '../src/metrics/metrics-server.ts';
import { Agent } from '../src/node/agent.ts';

let options;
try {
  options = parseConfig(process.argv.slice(2), process.env);
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`wasmfleet-agent: ${error.message}\n`);
    process.exit(2);
  }
  throw error;
}
if (options === 'help') {
  process.stdout.write(HELP);
  process.exit(0);
}

const agent = new Agent(options);
await agent.start();
process.stderr.write(`wasmfleet-agent: node ${options.nodeId} started (data in ${options.dataDir})\n`);
const metrics = options.metricsAddress
  ? await serveAgentMetrics(
      options.metricsAddress,
      () => agent.status(),
      () => agent.functionThreads(),
    )
  : undefined;
if (metrics) process.stderr.write(`wasmfleet-agent: serving metrics on ${metrics.url}\n`);

/** stop() is bounded step by step; this is the last resort so a signal always ends the process. */
const EXIT_DEADLINE_MS = 10_000;
let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => {
      process.stderr.write(`wasmfleet-agent: did not stop within ${EXIT_DEADLINE_MS} ms; exiting\n`);
      process.exit(1);
    }, EXIT_DEADLINE_MS).unref();
    void Promise.all([agent.stop(), metrics?.close()]).then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`wasmfleet-agent: stopping failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  });
}
