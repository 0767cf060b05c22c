// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  sharedControlPlane,
  startMosquitto,
  startSimulatedDevice,
  uniqueName,
  waitFor,
  type ControlPlane,
  type Mosquitto,
  type SimulatedDevice,
} from '@wasmfleet/test-support';
import { EMPTY_MODULE, functionYaml } from './harness.ts';
import { spawnOperator, type OperatorProcess } from './operator-process.ts';
import { canonicalJson } from '../../src/fleet/revision-hash.ts';

const LEASE = [
  '--leader-elect-lease-duration',
  '3s',
  '--leader-elect-renew-deadline',
  '2s',
  '--leader-elect-retry-period',
  '500ms',
];

describe('operator processes: leader election and crashes', () => {
  let plane: ControlPlane;
  let broker: Mosquitto;
  let ns: string;
  let fleet: string;
  const devices: SimulatedDevice[] = [];
  const operators: OperatorProcess[] = [];
  const args = () => [
    '--broker',
    broker.url,
    '--namespace',
    ns,
    '--fleet',
    fleet,
    '--leader-elect',
    '--leader-election-namespace',
    ns,
    ...LEASE,
  ];
  const fnStatus = async (name: string) =>
    JSON.parse(
      (await plane.kubectl(['get', 'wasmfunction', name, '-n', ns, '-o', 'json'])).stdout || '{}',
    ) as { status?: { phase?: string; ready?: string } };

  before(async () => {
    plane = await sharedControlPlane();
    broker = await startMosquitto();
    ns = uniqueName('op-proc');
    fleet = uniqueName('fleet');
    await plane.kubectl(['create', 'namespace', ns]);
    const cm = await plane.kubectl([
      'create',
      'configmap',
      'mod',
      '-n',
      ns,
      '--from-literal=placeholder=x',
      '--dry-run=client',
      '-o',
      'json',
    ]);
    const object = JSON.parse(cm.stdout) as Record<string, unknown>;
    delete object.data;
    object.binaryData = { 'module.wasm': Buffer.from(EMPTY_MODULE).toString('base64') };
    await plane.kubectl(['apply', '-f', '-'], { stdin: JSON.stringify(object) });
    for (let i = 0; i < 12; i++) {
      const node = `${fleet}-d${i}`;
      await plane.kubectl(['apply', '-f', '-'], {
        stdin: JSON.stringify({
          apiVersion: 'wasmfleet.io/v1alpha1',
          kind: 'EdgeNode',
          metadata: { name: node, labels: { 'wasmfleet.io/fleet': fleet, site: 'plant-1' } },
          spec: {},
        }),
      });
      devices.push(
        await startSimulatedDevice({
          brokerUrl: broker.url,
          node,
          sensors: ['temperature'],
          heartbeatSeconds: 5,
        }),
      );
    }
  });
  after(async () => {
    await Promise.all(operators.map((o) => o.kill()));
    await Promise.allSettled(devices.map((d) => d.stop()));
    await broker.dispose();
  });

  it('two replicas: exactly one is ready and acts; killing it hands over to the other', async () => {
    const a = spawnOperator(args(), plane.kubeconfigPath);
    const b = spawnOperator(args(), plane.kubeconfigPath);
    operators.push(a, b);
    const leading = await waitFor('one replica leading, one standing by', async () => {
      const l = [await a.metric('wasmfleet_leader_is_leader'), await b.metric('wasmfleet_leader_is_leader')];
      return l[0]! + l[1]! === 1 ? l : undefined;
    });
    // Both are Ready — a healthy standby is ready, as in controller-runtime — and one leads.
    await waitFor('both Ready', async () =>
      (await a.readyz()) === 200 && (await b.readyz()) === 200 ? true : undefined,
    );
    const [leader, standby] = leading[0] === 1 ? [a, b] : [b, a];

    await plane.kubectl(['apply', '-n', ns, '-f', '-'], {
      stdin: functionYaml('f1', {
        module: { configMap: { name: 'mod', key: 'module.wasm' } },
        placement: { nodeSelector: { matchLabels: { site: 'plant-1' } } },
        inputs: [{ topic: 'in/{node}' }],
      }),
    });
    await waitFor(
      'f1 Ready 12/12',
      async () => ((await fnStatus('f1')).status?.ready === '12/12' ? true : undefined),
      { timeoutMs: 30_000 },
    );
    assert.ok((await leader.metric('wasmfleet_reconcile_total')) > 0, 'the leader reconciled');
    assert.equal(await standby.metric('wasmfleet_reconcile_total'), 0, 'the standby must not act');

    await leader.kill('SIGKILL');
    await waitFor(
      'the standby to take over',
      async () => ((await standby.metric('wasmfleet_leader_is_leader')) === 1 ? true : undefined),
      { timeoutMs: 20_000 },
    );
    await plane.kubectl([
      'patch',
      'wasmfunction',
      'f1',
      '-n',
      ns,
      '--type=merge',
      '-p',
      '{"spec":{"config":{"LEVEL":"2"}}}',
    ]);
    await waitFor(
      'the new leader to deliver the edit',
      () => (devices.every((d) => d.desired()?.functions[0]?.config.LEVEL === '2') ? true : undefined),
      { timeoutMs: 20_000 },
    );
  });

  it('SIGKILL mid-delivery: the restarted operator converges and republishes nothing already delivered', async () => {
    for (const o of operators.splice(0)) await o.kill();
    const first = spawnOperator(args(), plane.kubeconfigPath);
    operators.push(first);
    await waitFor(
      'leading',
      async () => ((await first.metric('wasmfleet_leader_is_leader')) === 1 ? true : undefined),
      {
        timeoutMs: 20_000,
      },
    );
    await plane.kubectl(['apply', '-n', ns, '-f', '-'], {
      stdin: functionYaml('f2', {
        module: { configMap: { name: 'mod', key: 'module.wasm' } },
        placement: { nodeSelector: { matchLabels: { site: 'plant-1' } } },
        inputs: [{ topic: 'other/{node}' }],
      }),
    });
    // Kill as soon as the first device has the new function: the rest are mid-flight.
    await waitFor(
      'the first delivery of f2',
      () => (devices.some((d) => d.desired()?.functions.some((f) => f.name === 'f2')) ? true : undefined),
      { intervalMs: 5 },
    );
    await first.kill('SIGKILL');
    const second = spawnOperator(args(), plane.kubeconfigPath);
    operators.push(second);
    await waitFor(
      'f2 Ready 12/12 after the restart',
      async () => ((await fnStatus('f2')).status?.ready === '12/12' ? true : undefined),
      { timeoutMs: 30_000 },
    );
    await new Promise((r) => setTimeout(r, 1000));
    for (const d of devices) {
      const contents = d.received.map((doc) => canonicalJson(doc.functions));
      for (let i = 1; i < contents.length; i++) {
        assert.notEqual(
          contents[i],
          contents[i - 1],
          `${d.node} received the same document twice (generation ${d.received[i]?.generation})`,
        );
      }
      assert.ok(d.desired()?.functions.some((f) => f.name === 'f2'));
    }
  });
});
