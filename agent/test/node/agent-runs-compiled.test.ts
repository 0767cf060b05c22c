// SPDX-License-Identifier: Apache-2.0
// Regression: the agent's main thread ran from .ts sources, so Node's type stripping cost every
// device ~17 MB of RSS for nothing (docs/adr/0017). wasmfleet-agent.js must run compiled
// JavaScript throughout, main thread and function workers. Node started with
// --no-experimental-strip-types refuses any .ts file (workers inherit the flag), so an agent that
// still loaded one anywhere would not come up or would fail its function. The component runtime
// is checked too: its workers were started from `new URL('./component-worker.ts', …)`, a file
// the compiled tree does not have.
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { it } from 'node:test';
import { spawnManaged, startMosquitto, uniqueName } from '@wasmfleet/test-support';
import {
  collect,
  connect,
  fnSpec,
  fnStatus,
  publishDesired,
  publishModule,
  until,
  waitForStatus,
} from '../helpers/fleet.ts';
import { tempDir } from '../helpers/tmp.ts';
import { fixture } from '../helpers/wasm.ts';
import { tinyComponent } from '../component/tiny-component.ts';

const AGENT_BIN = fileURLToPath(new URL('../../bin/wasmfleet-agent.js', import.meta.url));

async function runsThroughCompiledAgent(
  bytes: Uint8Array,
  overrides: Parameters<typeof fnSpec>[2],
): Promise<void> {
  await using broker = await startMosquitto();
  await using dir = await tempDir();
  const node = uniqueName('compiled');
  const control = await connect(broker.url);
  await publishModule(control, bytes);
  await publishDesired(control, node, [fnSpec('f', bytes, overrides)], 1);
  const agent = spawnManaged('agent', process.execPath, {
    args: [
      '--no-experimental-strip-types',
      AGENT_BIN,
      ...[
        '--broker',
        broker.url,
        '--node',
        node,
        '--data-dir',
        path.join(dir.path, 'data'),
        '--heartbeat',
        '1',
      ],
    ],
    logFile: path.join(dir.path, 'agent.log'),
  });
  try {
    // Settled: Running, or whatever says why not (Failed, CrashLoopBackOff).
    const settled = (phase: string | undefined): boolean =>
      phase !== undefined && !['Pending', 'Fetching', 'Starting'].includes(phase);
    const status = await waitForStatus(control, node, (s) => settled(fnStatus(s, 'f')?.phase), 120_000);
    assert.equal(fnStatus(status, 'f')?.phase, 'Running', JSON.stringify(fnStatus(status, 'f')));
    const outputs = await collect(control, `out/${node}/f`);
    // Sent again every second: a first call slower than its deadline on a loaded machine fails
    // without an output, and this test is about the function running at all.
    const ping = (): void => {
      control.publish(`sensors/${node}/f`, 'ping', { qos: 1 });
    };
    ping();
    const again = setInterval(ping, 1000);
    try {
      await until('an output for the input', () => outputs.some((o) => o.includes('ping')), 60_000);
    } finally {
      clearInterval(again);
    }
  } finally {
    await agent.stop();
    await control.endAsync();
  }
}

it('the agent runs a core module with TypeScript support switched off (compiled JavaScript throughout)', async () => {
  await runsThroughCompiledAgent(await fixture('healthy/echo.wat'), {});
});

it('the agent runs a component with TypeScript support switched off (its workers start from JavaScript too)', async () => {
  await runsThroughCompiledAgent(await tinyComponent(), {
    limits: { memoryBytes: 64 * 1024 * 1024, timeoutMs: 5000 },
  });
});
