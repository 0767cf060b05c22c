#!/usr/bin/env node
// wasmfleet-agent: the device runtime as a process. Stops cleanly on SIGINT/SIGTERM (publishing
// an offline status); a SIGKILL is covered by the retained last will and the persistent session.
import { ConfigError, HELP, parseConfig } from '../src/cli/config.ts';
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

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    void agent.stop().then(() => process.exit(0));
  });
}
