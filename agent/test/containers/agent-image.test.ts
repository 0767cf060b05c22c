// SPDX-License-Identifier: Apache-2.0
// The agent image carries only the packages the agent loads (scripts/image/runtime-node-modules.ts):
// its bundle, jco and the WASI shim, mqtt for the simulated sensors — not jco's compilers. This
// proves the trimmed image still does everything the chart asks of it: run a core module, run a
// WASI component (jco transpiles it inside the container), and run the simulated sensors the
// chart starts beside each simulated agent. A package wrongly left out fails here, not on a
// user's cluster.
//
// It needs a container engine (scripts/container-engine starts one) and skips only where none
// answers; nothing is pulled.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { findContainerEngine, NO_ENGINE } from '@wasmfleet/test-support/containers';
import {
  collect,
  fnSpec,
  fnStatus,
  publishDesired,
  publishModule,
  until,
  waitForStatus,
} from '../helpers/fleet.ts';
import { fixture } from '../helpers/wasm.ts';
import { tinyComponent } from '../component/tiny-component.ts';
import { startImageOnNetwork, type ImageOnNetwork } from './helpers/image-on-network.ts';

const engine = await findContainerEngine();

describe('the agent image', { skip: engine ? false : NO_ENGINE }, () => {
  let h: ImageOnNetwork;
  before(async () => {
    h = await startImageOnNetwork(engine!, 'agent');
  });
  after(() => h.close());

  async function start(
    command: string[],
    entrypoint?: string[],
  ): Promise<import('testcontainers').StartedTestContainer> {
    const { GenericContainer } = await import('testcontainers');
    let container = new GenericContainer(h.image).withNetwork(h.network).withCommand(command);
    if (entrypoint) container = container.withEntrypoint(entrypoint);
    const started = await container.withStartupTimeout(60_000).start();
    h.cleanups.push(() => started.stop());
    return started;
  }

  it('runs a core module and a WASI component (jco transpiles it inside the container)', async () => {
    const node = 'image-functions-1';
    const core = await fixture('healthy/echo.wat');
    const component = await tinyComponent();
    await publishModule(h.control, core);
    await publishModule(h.control, component);
    await publishDesired(
      h.control,
      node,
      [
        fnSpec('core', core),
        fnSpec('component', component, { limits: { memoryBytes: 64 * 1024 * 1024, timeoutMs: 5000 } }),
      ],
      1,
    );
    await start(['--broker', 'mqtt://broker:1883', '--node', node, '--heartbeat', '1']);
    const settled = (phase: string | undefined): boolean =>
      phase !== undefined && !['Pending', 'Fetching', 'Starting'].includes(phase);
    const status = await waitForStatus(
      h.control,
      node,
      (s) => settled(fnStatus(s, 'core')?.phase) && settled(fnStatus(s, 'component')?.phase),
      180_000,
    );
    for (const name of ['core', 'component'])
      assert.equal(fnStatus(status, name)?.phase, 'Running', JSON.stringify(fnStatus(status, name)));
    for (const name of ['core', 'component']) {
      const outputs = await collect(h.control, `out/${node}/${name}`);
      // Sent again every second: a first call slower than its deadline on a loaded machine fails
      // without an output, and this test is about the function running at all.
      const ping = (): void => void h.control.publish(`sensors/${node}/${name}`, 'ping', { qos: 1 });
      ping();
      const again = setInterval(ping, 1000);
      try {
        await until(`an output of ${name}`, () => outputs.some((o) => o.includes('ping')), 60_000);
      } finally {
        clearInterval(again);
      }
    }
  });

  it('runs the simulated sensors the chart starts beside each simulated agent', async () => {
    const node = 'image-sensors-1';
    const readings = await collect(h.control, `sensors/${node}/#`);
    await start(
      ['agent/bin/wasmfleet-sim-sensors.ts', '--broker', 'mqtt://broker:1883', '--node', node],
      ['node'],
    );
    await until('a temperature and a humidity reading', () => readings.length >= 2, 60_000);
    const kinds = readings.map((r) => (JSON.parse(r) as { n?: string }[])[0]?.n);
    assert.ok(kinds.includes('temperature') && kinds.includes('humidity'), JSON.stringify(readings));
  });
});
