// SPDX-License-Identifier: Apache-2.0
// The native agent's image (wasmfleet/agent-native, test-support/src/images/native-agent-image.ts)
// holds nothing but the binary, the libraries `ldd` names and a CA bundle. This proves that is
// enough for what the chart asks of it: run as user 65532 on a read-only root filesystem with only
// the data directory writable, find the broker by its DNS name (glibc without NSS files), and run
// a core module and a component of the WIT world from a desired document, outputs coming back.
// A library or directory wrongly left out fails here, not on a user's cluster.
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

describe('the native agent image', { skip: engine ? false : NO_ENGINE }, () => {
  let h: ImageOnNetwork;
  before(async () => {
    h = await startImageOnNetwork(engine!, 'agent-native');
  });
  after(() => h.close());

  it('runs a core module and a component as 65532 on a read-only root, the broker found by name', async () => {
    const node = 'native-image-1';
    const core = await fixture('healthy/echo.wat');
    const component = await tinyComponent();
    await publishModule(h.control, core);
    await publishModule(h.control, component);
    await publishDesired(h.control, node, [fnSpec('core', core), fnSpec('component', component)], 1);
    const { GenericContainer } = await import('testcontainers');
    // What the chart's securityContext and volumes give it: a read-only root, a tmpfs data
    // directory and nothing else writable (testcontainers has no setter for the first).
    class ReadOnlyRoot extends GenericContainer {
      constructor(name: string) {
        super(name);
        this.hostConfig.ReadonlyRootfs = true;
      }
    }
    const agent = await new ReadOnlyRoot(h.image)
      .withNetwork(h.network)
      .withCommand(['--broker', 'mqtt://broker:1883', '--node', node, '--heartbeat', '1'])
      .withTmpFs({ '/var/lib/wasmfleet': 'rw,uid=65532,gid=65532' })
      .withStartupTimeout(60_000)
      .start();
    h.cleanups.push(() => agent.stop());
    const settled = (phase: string | undefined): boolean =>
      phase !== undefined && !['Pending', 'Fetching', 'Starting'].includes(phase);
    const status = await waitForStatus(
      h.control,
      node,
      (s) => settled(fnStatus(s, 'core')?.phase) && settled(fnStatus(s, 'component')?.phase),
      120_000,
    );
    for (const name of ['core', 'component'])
      assert.equal(fnStatus(status, name)?.phase, 'Running', JSON.stringify(fnStatus(status, name)));
    for (const name of ['core', 'component']) {
      const outputs = await collect(h.control, `out/${node}/${name}`);
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
});
