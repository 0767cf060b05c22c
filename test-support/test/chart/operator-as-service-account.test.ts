// SPDX-License-Identifier: Apache-2.0
// The real operator, started exactly as the chart's Deployment starts it (its args and env, read
// from the rendered manifest), authenticated with a token of the chart's ServiceAccount under the
// chart's RBAC, against the real API server and a real Mosquitto. It must become ready (leader
// Lease taken), register a device it has never seen, place a function on a device and report it
// Ready — end to end, with nothing forbidden along the way.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  logMessages,
  sharedControlPlane,
  startMosquitto,
  startSimulatedDevice,
  uniqueName,
  waitFor,
  type ControlPlane,
  type Mosquitto,
  type SimulatedDevice,
} from '../../src/index.ts';
import { find, render, REPO_ROOT } from './helm.ts';

const OPERATOR_BIN = path.join(REPO_ROOT, 'operator', 'bin', 'wasmfleet-operator.ts');
// The smallest valid module: magic and version. The operator only resolves and digests it.
const EMPTY_MODULE = Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath: string } };
}

let plane: ControlPlane;
let broker: Mosquitto;
let namespace: string;
let fleet: string;
let operator: ChildProcess | undefined;
const log: string[] = [];
const devices: SimulatedDevice[] = [];
let scratch: string;

before(
  async () => {
    plane = await sharedControlPlane();
    broker = await startMosquitto();
    namespace = uniqueName('wf-op-sa');
    fleet = uniqueName('fleet');
    scratch = await mkdtemp(path.join(tmpdir(), 'wasmfleet-op-sa-'));
    await must(['create', 'namespace', namespace]);
    // Scoped to this test's namespace and fleet, so it never touches other tests' objects on the
    // shared API server; the RBAC is the chart's unchanged cluster-wide one.
    const { manifests } = await render({
      release: uniqueName('op'),
      namespace,
      values: {
        mosquitto: { enabled: false },
        broker: { url: broker.url },
        operator: { extraArgs: ['--namespace', namespace, '--fleet', fleet] },
      },
    });
    const rbacKinds = new Set(['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);
    const rbac = { apiVersion: 'v1', kind: 'List', items: manifests.filter((m) => rbacKinds.has(m.kind)) };
    await must(['apply', '--server-side', '--field-manager=chart-test', '-f', '-'], JSON.stringify(rbac));
    const sa = find(manifests, 'ServiceAccount').metadata.name;
    const token = (await must(['create', 'token', sa, '-n', namespace, '--duration=1h'])).trim();
    const kubeconfig = await plane.writeKubeconfig(`${namespace}-operator`, token);

    const deployment = find(manifests, 'Deployment', '-operator');
    const pod = (
      deployment.spec as { template: { spec: { containers: { args?: string[]; env?: EnvVar[] }[] } } }
    ).template.spec;
    const container = pod.containers[0]!;
    const env: Record<string, string> = { PATH: process.env.PATH ?? '' };
    for (const v of container.env ?? []) env[v.name] = resolveEnv(v);
    // Tests listen on loopback only; everything else is the chart's.
    env.WASMFLEET_OPS_BIND_ADDRESS = '127.0.0.1:0';
    const envFile = path.join(scratch, 'operator.env.json');
    await writeFile(envFile, JSON.stringify({ args: container.args, env }, null, 2));
    operator = spawn(
      process.execPath,
      [OPERATOR_BIN, ...(container.args ?? []), '--kubeconfig', kubeconfig],
      {
        env,
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    operator.stderr?.setEncoding('utf8');
    operator.stderr?.on('data', (chunk: string) => log.push(...chunk.split('\n').filter(Boolean)));
  },
  { timeout: 15 * 60_000 },
);

after(async () => {
  for (const device of devices) await device.stop().catch(() => undefined);
  if (operator && operator.exitCode === null) {
    const exited = new Promise((resolve) => operator?.once('exit', resolve));
    operator.kill('SIGTERM');
    await exited;
  }
  await broker.dispose();
  await rm(scratch, { recursive: true, force: true });
});

describe('the operator as the chart ServiceAccount', () => {
  it('starts from the chart’s args and env, takes the Lease and becomes ready', async () => {
    const url = await waitFor('the operator to serve /readyz', () => {
      for (const line of logMessages(log.join('\n'))) {
        const m = /serving .* on (http:\/\/\S+)/.exec(line);
        if (m?.[1]) return m[1];
      }
      if (operator?.exitCode !== null)
        throw new Error(`operator exited ${operator?.exitCode}:\n${log.join('\n')}`);
      return undefined;
    });
    await waitFor(
      '/readyz 200',
      async () => ((await fetch(`${url}/readyz`)).status === 200 ? true : undefined),
      {
        timeoutMs: 60_000,
        intervalMs: 200,
      },
    ).catch((error: unknown) => {
      throw new Error(`the operator did not become ready:\n${log.join('\n')}`, { cause: error });
    });
    const holder = await must([
      'get',
      'lease',
      'wasmfleet-operator',
      '-n',
      namespace,
      '-o',
      'jsonpath={.spec.holderIdentity}',
    ]);
    assert.notEqual(holder.trim(), '', 'the Lease in the release namespace has a holder');
  });

  it('registers a device it has never seen (creates its EdgeNode) and marks it Online', async () => {
    const node = `${fleet}-new`;
    devices.push(
      await startSimulatedDevice({
        brokerUrl: broker.url,
        node,
        sensors: ['temperature'],
        heartbeatSeconds: 2,
      }),
    );
    await waitFor(
      `EdgeNode ${node} Online`,
      async () => {
        const r = await plane.kubectl(['get', 'edgenode', node, '-o', 'jsonpath={.status.phase}']);
        return r.code === 0 && r.stdout === 'Online' ? true : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    ).catch((error: unknown) => {
      throw new Error(`no EdgeNode for ${node}:\n${log.join('\n')}`, { cause: error });
    });
  });

  it('places a function from a ConfigMap module on a device and reports it Ready', async () => {
    const node = `${fleet}-placed`;
    const zone = uniqueName('zone');
    await must(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'wasmfleet.io/v1alpha1',
        kind: 'EdgeNode',
        metadata: { name: node, labels: { zone, 'wasmfleet.io/fleet': fleet } },
        spec: {},
      }),
    );
    const device = await startSimulatedDevice({
      brokerUrl: broker.url,
      node,
      sensors: ['temperature'],
      heartbeatSeconds: 2,
    });
    devices.push(device);
    const moduleFile = path.join(scratch, 'module.wasm');
    await writeFile(moduleFile, EMPTY_MODULE);
    const configMap = await must([
      'create',
      'configmap',
      'mod',
      '-n',
      namespace,
      `--from-file=module.wasm=${moduleFile}`,
      '--dry-run=client',
      '-o',
      'json',
    ]);
    await must(['apply', '-n', namespace, '-f', '-'], configMap);
    await must(
      ['apply', '-n', namespace, '-f', '-'],
      JSON.stringify({
        apiVersion: 'wasmfleet.io/v1alpha1',
        kind: 'WasmFunction',
        metadata: { name: 'fn' },
        spec: {
          module: { configMap: { name: 'mod', key: 'module.wasm' } },
          placement: { nodeSelector: { matchLabels: { zone } }, mode: 'Every' },
          inputs: [{ topic: 'sensors/{node}/temperature' }],
        },
      }),
    );
    await waitFor(
      'the function Ready 1/1 and delivered to the device',
      async () => {
        const r = await plane.kubectl([
          'get',
          'wasmfunction',
          'fn',
          '-n',
          namespace,
          '-o',
          'jsonpath={.status.ready}',
        ]);
        return r.stdout === '1/1' && device.desired() !== undefined ? true : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    ).catch((error: unknown) => {
      throw new Error(`the function was not placed:\n${log.join('\n')}`, { cause: error });
    });
    assert.equal(device.desired()?.functions.length, 1);
  });

  it('was never forbidden anything by the chart RBAC', () => {
    const forbidden = log.filter((line) => /forbidden|403/i.test(line));
    assert.deepEqual(forbidden, []);
  });
});

async function must(args: string[], stdin?: string): Promise<string> {
  const result = await plane.kubectl(args, stdin === undefined ? {} : { stdin });
  assert.equal(result.code, 0, `kubectl ${args.join(' ')} failed:\n${result.stderr}`);
  return result.stdout;
}

/** The value the kubelet would give an env var of the chart's pod. */
function resolveEnv(v: EnvVar): string {
  if (v.value !== undefined) return v.value;
  const field = v.valueFrom?.fieldRef?.fieldPath;
  if (field === 'metadata.namespace') return namespace;
  if (field === 'metadata.name') return 'wasmfleet-operator-0';
  throw new Error(
    `the chart's operator env ${v.name} uses a source this test cannot resolve: ${JSON.stringify(v.valueFrom)}`,
  );
}
