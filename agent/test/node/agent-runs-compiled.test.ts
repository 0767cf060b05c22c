// Regression: the agent's main thread ran from .ts sources, so Node's type stripping cost every
// device ~17 MB of RSS for nothing (docs/adr/0017). wasmfleet-agent.js must run compiled
// JavaScript throughout, main thread and function workers. Node started with
// --no-experimental-strip-types refuses any .ts file (workers inherit the flag), so an agent that
// still loaded one anywhere would not come up or would fail its function.
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

const AGENT_BIN = fileURLToPath(new URL('../../bin/wasmfleet-agent.js', import.meta.url));

it('the agent runs a function with TypeScript support switched off (compiled JavaScript throughout)', async () => {
  await using broker = await startMosquitto();
  await using dir = await tempDir();
  const node = uniqueName('compiled');
  const control = await connect(broker.url);
  const echo = await fixture('healthy/echo.wat');
  await publishModule(control, echo);
  await publishDesired(control, node, [fnSpec('echo', echo)], 1);
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
    const status = await waitForStatus(
      control,
      node,
      (s) => fnStatus(s, 'echo')?.phase === 'Running',
      60_000,
    );
    assert.equal(fnStatus(status, 'echo')?.phase, 'Running');
    const outputs = await collect(control, `out/${node}/echo`);
    await control.publishAsync(`sensors/${node}/echo`, 'hello', { qos: 1 });
    await until('the echo output', () => outputs.includes('hello'), 30_000);
  } finally {
    await agent.stop();
    await control.endAsync();
  }
});
