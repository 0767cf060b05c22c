// SPDX-License-Identifier: Apache-2.0
// Every workload the chart renders meets the `restricted` Pod Security Standard, checked by the
// real API server's PodSecurity admission plugin. For workloads (Deployment, StatefulSet) the
// plugin never rejects: it only answers with a "would violate PodSecurity" warning, so the test
// asserts that warning is absent — and, as a control, present for a template stripped of its
// security context. Bare Pods are where enforcement bites, so the pod templates are also created
// as Pods (server dry run) and must be admitted, while the stripped one is forbidden.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { sharedControlPlane, uniqueName, type ControlPlane } from '../../src/index.ts';
import { ALL_OPTIONS, render, type Manifest } from './helm.ts';

const WORKLOADS = new Set(['Deployment', 'StatefulSet']);
let plane: ControlPlane;
let namespace: string;
let workloads: Manifest[];

before(
  async () => {
    plane = await sharedControlPlane();
    namespace = uniqueName('wf-restricted');
    await must(['create', 'namespace', namespace]);
    // The labels the chart's NOTES.txt and README tell users to set.
    await must([
      'label',
      'namespace',
      namespace,
      'pod-security.kubernetes.io/enforce=restricted',
      'pod-security.kubernetes.io/enforce-version=latest',
    ]);
    const { manifests } = await render({ release: uniqueName('psa'), namespace, values: ALL_OPTIONS });
    workloads = manifests.filter((m) => WORKLOADS.has(m.kind));
    // Pods need their ServiceAccounts to exist, and no controller-manager creates "default" here.
    await must(['create', 'serviceaccount', 'default', '-n', namespace]);
    const sa = manifests.find((m) => m.kind === 'ServiceAccount')!;
    await must(['create', 'serviceaccount', sa.metadata.name, '-n', namespace]);
  },
  { timeout: 15 * 60_000 },
);

describe('Pod Security: restricted', () => {
  it('renders the operator, Mosquitto and the simulated devices as workloads', () => {
    assert.deepEqual(workloads.map((w) => w.kind).sort(), ['Deployment', 'Deployment', 'StatefulSet']);
  });

  it('admits every workload with no PodSecurity warning (server-side apply)', async () => {
    for (const workload of workloads) {
      const applied = await plane.kubectl(
        ['apply', '--server-side', '--field-manager=chart-test', '-n', namespace, '-f', '-'],
        { stdin: JSON.stringify(workload) },
      );
      assert.equal(applied.code, 0, applied.stderr);
      assert.match(applied.stdout, /serverside-applied/);
      assert.doesNotMatch(applied.stderr, /PodSecurity/, `${workload.kind}/${workload.metadata.name}`);
    }
  });

  it('admits each pod template as a bare Pod, where restricted is enforced', async () => {
    for (const workload of workloads) {
      const created = await plane.kubectl(['create', '--dry-run=server', '-n', namespace, '-f', '-'], {
        stdin: JSON.stringify(asPod(workload)),
      });
      assert.equal(created.code, 0, `${workload.metadata.name}: ${created.stderr}`);
      assert.doesNotMatch(created.stderr, /PodSecurity/);
    }
  });

  it('control: the same operator template without its security context warns, and as a Pod is forbidden', async () => {
    const operator = workloads.find((w) => w.metadata.name.endsWith('-operator'))!;
    const stripped = stripSecurity(operator);
    const applied = await plane.kubectl(['apply', '--dry-run=server', '-n', namespace, '-f', '-'], {
      stdin: JSON.stringify(stripped),
    });
    assert.equal(applied.code, 0, 'workloads are only warned about, never rejected');
    assert.match(applied.stderr, /would violate PodSecurity "restricted:latest"/);
    const pod = await plane.kubectl(['create', '--dry-run=server', '-n', namespace, '-f', '-'], {
      stdin: JSON.stringify(asPod(stripped)),
    });
    assert.notEqual(pod.code, 0);
    assert.match(pod.stderr, /forbidden: violates PodSecurity "restricted:latest"/);
  });
});

async function must(args: string[]): Promise<void> {
  const result = await plane.kubectl(args);
  assert.equal(result.code, 0, `kubectl ${args.join(' ')}: ${result.stderr}`);
}

interface PodTemplate {
  metadata?: Record<string, unknown>;
  spec: {
    securityContext?: unknown;
    containers: { securityContext?: unknown }[];
    initContainers?: { securityContext?: unknown }[];
  };
}

function template(workload: Manifest): PodTemplate {
  return (workload.spec as { template: PodTemplate }).template;
}

function asPod(workload: Manifest): unknown {
  const t = template(workload);
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: uniqueName('psa-pod'), labels: t.metadata?.labels ?? {} },
    spec: t.spec,
  };
}

function stripSecurity(workload: Manifest): Manifest {
  const copy = structuredClone(workload);
  // A new name, so the server sees a create and not a patch that keeps the old fields.
  (copy.metadata as { name: string }).name = uniqueName('stripped');
  const t = template(copy);
  delete t.spec.securityContext;
  for (const c of [...t.spec.containers, ...(t.spec.initContainers ?? [])]) delete c.securityContext;
  return copy;
}
