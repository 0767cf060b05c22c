#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// wasmfleet-agent: the device runtime as a process. Stops cleanly on SIGINT/SIGTERM (publishing
// an offline status); a SIGKILL is covered by the retained last will and the persistent session.
import { createLogger } from '@wasmfleet/api';
import { ConfigError, HELP, parseConfig } from '../src/cli/config.ts';
import { serveAgentMetrics } from '../src/metrics/metrics-server.ts';
import { Agent } from '../src/node/agent.ts';
import { AgentUpgrader, supervisedEnv } from '../src/upgrade/agent-upgrader.ts';
import { AGENT_VERSION } from '../src/version.ts';

const argv = process.argv.slice(2);
if (argv[0] === 'join') {
  // Loaded only here: a running agent never carries the join code (docs/adr/0019).
  const { joinCommand } = await import('../src/join/join-command.ts');
  process.exit(await joinCommand(argv.slice(1)));
}
if (argv[0] === '--version' || argv[0] === '-v') {
  process.stdout.write(`wasmfleet-agent ${AGENT_VERSION} (node ${process.version}, linux-${process.arch})\n`);
  process.exit(0);
}

let options;
try {
  options = parseConfig(argv, process.env);
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

// Structured lines (docs/adr/0035): JSON under a service manager or into a file, text on a terminal.
const logger = createLogger({ component: 'agent', ...options.logging }).with({ node: options.nodeId });

/** The supervisor starts the version on trial when the agent exits with this (wasmfleet-agent-supervise). */
const UPGRADE_EXIT = 75;
let stopping = false;
const upgrader: AgentUpgrader = new AgentUpgrader({
  node: options.nodeId,
  env: supervisedEnv(process.env),
  log: logger.with({ component: 'agent-upgrader' }),
  status: () => agent.status(),
  connected: () => agent.connected,
  statusChanged: () => agent.statusChanged(),
  restart: () => {
    if (stopping) return;
    stopping = true;
    void agent.stop().finally(() => process.exit(UPGRADE_EXIT));
  },
});
const agent: Agent = new Agent({ ...options, control: upgrader, log: (level, text) => logger[level](text) });
// Signals are taken before anything starts: a SIGTERM that arrives while the agent connects (a
// service manager stopping it at boot, a test that saw its first log line) still stops it
// cleanly, after the start it interrupted has settled (issue 14: it used to die of the signal).
const started = upgrader
  .start()
  .then(() => agent.start())
  .then(async () => {
    logger.info(`node ${options.nodeId} started (data in ${options.dataDir})`);
    return options.metricsAddress
      ? await serveAgentMetrics(
          options.metricsAddress,
          () => agent.status(),
          () => agent.functionThreads(),
        )
      : undefined;
  });

/** stop() is bounded step by step; this is the last resort so a signal always ends the process. */
const EXIT_DEADLINE_MS = 10_000;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => {
      logger.error(`did not stop within ${EXIT_DEADLINE_MS} ms; exiting`);
      process.exit(1);
    }, EXIT_DEADLINE_MS).unref();
    void started
      .catch(() => undefined)
      .then((metrics) => Promise.all([agent.stop(), metrics?.close()]))
      .then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error(`stopping failed: ${String(error)}`);
          process.exit(1);
        },
      );
  });
}

const metrics = await started;
if (metrics) logger.info(`serving metrics on ${metrics.url}`);
