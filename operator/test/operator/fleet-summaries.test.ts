// SPDX-License-Identifier: Apache-2.0
// Issue 18: `kubectl get`, `wasmfleet get` and `describe` still answer "which devices run what,
// and which fail" when Kubernetes holds only summaries (ADR 0023): per-device detail from each
// device's retained MQTT status, counts and capped lists in the objects. No branch in the
// operator depends on the fleet's size, so this runs the 100,000-device path with 24 devices and
// the per-function device list capped at 5 (as 50 caps it at scale): every cap is hit. The CLI's
// one branch on size (above 500 devices it reads the statuses with one wildcard) is
// cli/test/get-nodes-fleet-size.test.ts. A fleet at rest — devices beating every second — writes
// nothing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GROUP, VERSION, WASM_FUNCTION_PLURAL, type EdgeNode, type WasmFunction } from '@wasmfleet/api';
import { waitFor } from '@wasmfleet/test-support';
import { cli } from '../../../cli/test/helpers.ts';
import { functionYaml, startHarness, type Harness } from './harness.ts';

const DEVICES = 24;
const CAP = 5;
const bad = (i: number) => i % 6 === 0; // 4 of 24

describe('fleet summaries: per-device detail from MQTT, aggregates in Kubernetes', () => {
  let h: Harness;
  const name = (i: number) => h.nodeName(`d${String(i).padStart(2, '0')}`);
  const failing = () =>
    Array.from({ length: DEVICES }, (_, i) => i)
      .filter(bad)
      .map(name);

  before(async () => {
    h = await startHarness('fleet-summaries', { settings: { maxNodeStatuses: CAP } });
    await h.moduleConfigMap('mod');
    for (let i = 0; i < DEVICES; i++) {
      await h.device(`d${String(i).padStart(2, '0')}`, {
        labels: { ring: 'all' },
        heartbeatSeconds: 1,
        outcome: () => (bad(i) ? 'Failed' : 'Running'),
      });
    }
    await h.apply(
      functionYaml('f', {
        module: { configMap: { name: 'mod', key: 'module.wasm' } },
        placement: { nodeSelector: { matchLabels: { ring: 'all' } } },
        inputs: [{ topic: 'sensors/{node}/temperature' }],
      }),
    );
    await h.waitForFunction(
      'f',
      'every device reported',
      (f) => f.status?.failedNodes === 4 && f.status.readyNodes === 20,
    );
    await waitFor('every EdgeNode summary written', async () => {
      const nodes = await listNodes();
      return nodes.length === DEVICES &&
        nodes.every((n) => n.status?.failingCount === (failing().includes(n.metadata.name ?? '') ? 1 : 0))
        ? true
        : undefined;
    });
  });
  after(() => h.close());

  const listNodes = async (): Promise<EdgeNode[]> =>
    (
      (await h.api.listClusterCustomObject({
        group: GROUP,
        version: VERSION,
        plural: 'edgenodes',
        labelSelector: `wasmfleet.io/fleet=${h.fleet}`,
      })) as { items: EdgeNode[] }
    ).items;
  const run = async (args: string[]) => {
    const r = await cli(args, h.plane.kubeconfigPath);
    assert.equal(r.exitCode, 0, r.stderr);
    return r;
  };

  it('kubectl get answers how many devices run the function and how many fail', async () => {
    const fn = await h.plane.kubectl(['get', 'wasmfunction', 'f', '-n', h.namespace]);
    assert.match(fn.stdout, /^f\s+configmap:mod\/module\.wasm\s+20\/24\s+24\s+Degraded\s/m);
    const selector = ['-l', `wasmfleet.io/fleet=${h.fleet}`];
    const table = await h.plane.kubectl(['get', 'edgenodes', ...selector]);
    assert.match(table.stdout, /^NAME\s+STATUS\s+SENSORS\s+FAILING\s+AGENT\s+SINCE\s+AGE\n/);
    // The same columns, read without guessing where an empty SENSORS cell ends.
    const columns = 'custom-columns=NAME:.metadata.name,STATUS:.status.phase,FAILING:.status.failingCount';
    const rows = (
      await h.plane.kubectl(['get', 'edgenodes', ...selector, '--no-headers', '-o', columns])
    ).stdout
      .trim()
      .split('\n');
    assert.equal(rows.length, DEVICES);
    for (const row of rows) {
      const [node = '', ...cells] = row.trim().split(/\s+/);
      assert.deepEqual(cells, ['Online', failing().includes(node) ? '1' : '0'], row);
    }
  });

  it('wasmfleet describe function lists the failing devices first, capped, and says how many more there are', async () => {
    const { stdout } = await run(['describe', 'function', 'f', '-n', h.namespace]);
    const section = stdout.slice(stdout.indexOf('Devices:'));
    const listed = section.split('\n').slice(2, 2 + CAP);
    assert.deepEqual(
      listed.slice(0, 4).map((l) => l.trim().split(/\s+/)[0]),
      failing(),
      'the failing devices come first',
    );
    for (const line of listed.slice(0, 4)) assert.match(line, /\sFailed\s+Trap\s+simulated trap/);
    assert.match(
      section,
      new RegExp(`\\(${DEVICES - CAP} more devices not listed: failing devices come first\\)`),
    );
  });

  it('wasmfleet get nodes shows every device with how many functions it runs and its last heartbeat, read from the broker', async () => {
    const { stdout } = await run([
      'get',
      'nodes',
      '-l',
      `wasmfleet.io/fleet=${h.fleet}`,
      '--broker',
      h.broker.url,
    ]);
    const [header = '', ...rows] = stdout.trim().split('\n');
    assert.match(header, /NAME\s+STATUS\s+SENSORS\s+FAILING\s+AGENT\s+SINCE\s+AGE\s+FUNCTIONS\s+LAST-SEEN/);
    assert.equal(rows.length, DEVICES);
    for (const row of rows)
      assert.match(row.trimEnd(), /\s1\s+\d+s$/, `one function, a heartbeat seconds ago: ${row}`);
    const wide = await run([
      'get',
      'nodes',
      '-l',
      `wasmfleet.io/fleet=${h.fleet}`,
      '-o',
      'wide',
      '--broker',
      h.broker.url,
    ]);
    assert.match(wide.stdout, new RegExp(`\\s${h.namespace}/f\\s*\n`), 'which functions each device runs');
  });

  it('wasmfleet describe node shows every function of a device from its retained status, and the failing ones without a broker', async () => {
    const device = failing()[0] ?? '';
    const live = (await run(['describe', 'node', device, '--broker', h.broker.url])).stdout;
    assert.match(live, /Last heartbeat:\s+\S+ \(\d+s ago\)/);
    assert.match(live, new RegExp(`${h.namespace}/f\\s+[0-9a-f]{12}\\s+Failed\\s+Trap\\s+0\\s+0\\s`));
    const summary = (await run(['describe', 'node', device])).stdout;
    assert.match(
      summary,
      new RegExp(
        `Failing functions:\\n\\s+FUNCTION\\s+PHASE\\s+REASON\\n\\s+${h.namespace}/f\\s+Failed\\s+Trap`,
      ),
    );
    assert.match(summary, /Kubernetes keeps only the failing functions: pass --broker/);
  });

  it('at rest, with every device beating each second, nothing is written to the API server', async () => {
    const versions = async () => {
      const fn = (await h.api.getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        plural: WASM_FUNCTION_PLURAL,
        namespace: h.namespace,
        name: 'f',
      })) as WasmFunction;
      const nodes = await listNodes();
      return new Map([
        ['f', fn.metadata.resourceVersion],
        ...nodes.map((n) => [n.metadata.name ?? '', n.metadata.resourceVersion] as const),
      ]);
    };
    const before = await versions();
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    const after = await versions();
    const changed = [...after].filter(([k, v]) => before.get(k) !== v).map(([k]) => k);
    assert.deepEqual(changed, [], `${DEVICES} devices × 6 heartbeats caused writes to ${changed.join(', ')}`);
  });
});
