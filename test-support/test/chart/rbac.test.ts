// SPDX-License-Identifier: Apache-2.0
// The chart's ServiceAccount as the operator will be: its RBAC applied to the real API server, a
// token minted for it, and what it may do read back from the server. `kubectl auth can-i --list`
// must show exactly the chart's rules — nothing more, no wildcard — and the calls the operator
// makes must succeed with that token while everything else is forbidden.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { sharedControlPlane, uniqueName, type ControlPlane } from '../../src/index.ts';
import { find, render } from './helm.ts';

/** What the operator's ServiceAccount may do beyond what every authenticated user may. */
const CLUSTER_RULES = [
  'configmaps [get list watch]',
  'controllerrevisions.apps [create delete get list watch]',
  'edgenodes.wasmfleet.io [create get list patch update watch]',
  'edgenodes.wasmfleet.io/status [get patch update]',
  'events [create patch]',
  'events.events.k8s.io [create patch]',
  'secrets [get list watch]',
  'wasmfunctions.wasmfleet.io [get list patch update watch]',
  'wasmfunctions.wasmfleet.io/finalizers [update]',
  'wasmfunctions.wasmfleet.io/status [get patch update]',
];
const RELEASE_NAMESPACE_RULES = ['leases.coordination.k8s.io [create get update]', 'secrets [create]'];

/** can-i --list shows one row per resource: the union of the verbs of every rule that names it. */
function mergeRules(rules: readonly string[]): string[] {
  const verbs = new Map<string, Set<string>>();
  for (const rule of rules) {
    const [resource = '', list = ''] = rule.split(' [');
    const set = verbs.get(resource) ?? new Set<string>();
    for (const verb of list.replace(']', '').split(' ')) set.add(verb);
    verbs.set(resource, set);
  }
  return [...verbs].map(([resource, set]) => `${resource} [${[...set].sort().join(' ')}]`).sort();
}

interface Fixture {
  readonly plane: ControlPlane;
  readonly namespace: string;
  readonly otherNamespace: string;
  /** kubeconfig authenticating as the chart's ServiceAccount. */
  readonly operator: string;
  /** kubeconfig of a ServiceAccount with no bindings: what everyone may do anyway. */
  readonly nobody: string;
}

let fixture: Fixture;

before(
  async () => {
    const plane = await sharedControlPlane();
    const namespace = uniqueName('wf-rbac');
    const otherNamespace = uniqueName('wf-rbac-other');
    for (const ns of [namespace, otherNamespace]) await must(plane, ['create', 'namespace', ns]);
    const { manifests } = await render({ release: uniqueName('rbac'), namespace });
    const rbacKinds = new Set(['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);
    const rbac = manifests.filter((m) => rbacKinds.has(m.kind));
    assert.doesNotMatch(JSON.stringify(rbac), /\*/, 'no wildcard anywhere in the rendered RBAC');
    assert.equal(rbac.length, 5, 'the chart renders one ServiceAccount, ClusterRole, Role and two bindings');
    await must(
      plane,
      ['apply', '--server-side', '--field-manager=chart-test', '-f', '-'],
      JSON.stringify(list(rbac)),
    );
    const sa = find(manifests, 'ServiceAccount').metadata.name;
    await must(plane, ['create', 'serviceaccount', 'nobody', '-n', namespace]);
    const operator = await plane.writeKubeconfig(`${namespace}-operator`, await token(plane, namespace, sa));
    const nobody = await plane.writeKubeconfig(
      `${namespace}-nobody`,
      await token(plane, namespace, 'nobody'),
    );
    fixture = { plane, namespace, otherNamespace, operator, nobody };
  },
  { timeout: 15 * 60_000 },
);

describe('the chart ServiceAccount (real RBAC, a real token)', () => {
  it('can do exactly the chart rules in the release namespace, and nothing more', async () => {
    const { plane, namespace, operator, nobody } = fixture;
    const granted = await canIList(plane, operator, namespace);
    const baseline = await canIList(plane, nobody, namespace);
    const extra = granted.filter((rule) => !baseline.includes(rule));
    assert.deepEqual(extra, mergeRules([...CLUSTER_RULES, ...RELEASE_NAMESPACE_RULES]));
    // The baseline holds the built-in discovery URLs (/api/*, …) every authenticated user gets;
    // nothing the chart adds may contain a wildcard.
    for (const rule of extra) assert.doesNotMatch(rule, /\*/, `wildcard in ${rule}`);
    // …and the subtraction hides nothing: no resource the chart grants is in the baseline.
    const chartResources = new Set(
      [...CLUSTER_RULES, ...RELEASE_NAMESPACE_RULES].map((r) => r.split(' ')[0]),
    );
    assert.deepEqual(
      baseline.filter((rule) => chartResources.has(rule.split(' ')[0])),
      [],
    );
  });

  it('holds leases and creates Secrets only in the release namespace; everything else applies cluster-wide', async () => {
    const { plane, namespace, otherNamespace, operator, nobody } = fixture;
    const granted = await canIList(plane, operator, otherNamespace);
    const baseline = await canIList(plane, nobody, otherNamespace);
    assert.deepEqual(
      granted.filter((rule) => !baseline.includes(rule)),
      CLUSTER_RULES,
    );
    assert.equal(
      await canI(plane, operator, ['create', 'leases.coordination.k8s.io', '-n', namespace]),
      'yes',
    );
    assert.equal(
      await canI(plane, operator, ['create', 'leases.coordination.k8s.io', '-n', otherNamespace]),
      'no',
    );
    // Device credentials Secrets: created in the release namespace only.
    assert.equal(await canI(plane, operator, ['create', 'secrets', '-n', namespace]), 'yes');
    assert.equal(await canI(plane, operator, ['create', 'secrets', '-n', otherNamespace]), 'no');
  });

  it('is refused what the operator never does', async () => {
    const { plane, namespace, operator } = fixture;
    for (const args of [
      ['delete', 'wasmfunctions.wasmfleet.io'],
      ['create', 'wasmfunctions.wasmfleet.io'],
      ['delete', 'edgenodes.wasmfleet.io'],
      ['update', 'secrets'],
      ['delete', 'secrets'],
      ['update', 'configmaps'],
      ['delete', 'leases.coordination.k8s.io'],
      ['list', 'leases.coordination.k8s.io'],
      ['get', 'pods'],
      ['create', 'pods'],
      ['update', 'controllerrevisions.apps'],
      ['create', 'rolebindings.rbac.authorization.k8s.io'],
      ['impersonate', 'serviceaccounts'],
      ['*', '*'],
    ]) {
      assert.equal(await canI(plane, operator, [...args, '-n', namespace]), 'no', `can-i ${args.join(' ')}`);
    }
  });

  it('succeeds at the calls the operator makes, with its own token', async () => {
    const { plane, namespace, operator } = fixture;
    const as = (args: string[], stdin?: string) => must(plane, args, stdin, operator);
    const fn = uniqueName('fn');
    const node = uniqueName('node');
    // A user (the admin) creates the function; the operator only reads and updates it.
    await must(plane, ['apply', '-n', namespace, '-f', '-'], JSON.stringify(wasmFunction(fn)));
    await as(['get', 'wasmfunctions', '-A', '-o', 'name']);
    await as(['get', 'configmaps,secrets', '-A', '-o', 'name']);
    await as([
      'patch',
      'wasmfunction',
      fn,
      '-n',
      namespace,
      '--type=merge',
      '-p',
      finalizers(['wasmfleet.io/cleanup']),
    ]);
    await as([
      'patch',
      'wasmfunction',
      fn,
      '-n',
      namespace,
      '--subresource=status',
      '--type=merge',
      '-p',
      '{"status":{"observedGeneration":1}}',
    ]);
    await as(['patch', 'wasmfunction', fn, '-n', namespace, '--type=merge', '-p', finalizers([])]);
    // Devices announce themselves over MQTT; the operator creates and maintains their EdgeNodes.
    await as(['create', '-f', '-'], JSON.stringify(edgeNode(node)));
    await as([
      'patch',
      'edgenode',
      node,
      '--subresource=status',
      '--type=merge',
      '-p',
      '{"status":{"phase":"Online"}}',
    ]);
    await as(['label', 'edgenode', node, 'site=plant-1']);
    // Leader election: create, read and renew the Lease.
    const lease = uniqueName('lease');
    await as(['create', '-n', namespace, '-f', '-'], JSON.stringify(leaseObject(lease, 'a')));
    await as(['get', 'lease', lease, '-n', namespace]);
    await as(['replace', '-n', namespace, '-f', '-'], JSON.stringify(leaseObject(lease, 'b')));
    // Events about a function, and rollout history as ControllerRevisions.
    await as(['create', '-n', namespace, '-f', '-'], JSON.stringify(eventObject(namespace, fn)));
    const revision = uniqueName('rev');
    await as(['create', '-n', namespace, '-f', '-'], JSON.stringify(controllerRevision(revision)));
    await as(['delete', 'controllerrevision', revision, '-n', namespace]);
    // …and is stopped at the first step beyond its role.
    const refused = await plane.kubectl(['delete', 'wasmfunction', fn, '-n', namespace], {
      kubeconfig: operator,
    });
    assert.notEqual(refused.code, 0);
    assert.match(
      refused.stderr,
      /forbidden: User "system:serviceaccount:[^"]+" cannot delete resource "wasmfunctions"/,
    );
    await must(plane, ['delete', 'edgenode', node]);
  });
});

async function must(
  plane: ControlPlane,
  args: string[],
  stdin?: string,
  kubeconfig?: string,
): Promise<string> {
  const result = await plane.kubectl(args, {
    ...(stdin === undefined ? {} : { stdin }),
    ...(kubeconfig ? { kubeconfig } : {}),
  });
  assert.equal(result.code, 0, `kubectl ${args.join(' ')} failed:\n${result.stderr}`);
  return result.stdout;
}

async function token(plane: ControlPlane, namespace: string, serviceAccount: string): Promise<string> {
  return (await must(plane, ['create', 'token', serviceAccount, '-n', namespace, '--duration=1h'])).trim();
}

async function canI(plane: ControlPlane, kubeconfig: string, args: string[]): Promise<string> {
  const result = await plane.kubectl(['auth', 'can-i', ...args], { kubeconfig });
  return result.stdout.trim();
}

/**
 * `kubectl auth can-i --list` as one normalized line per resource rule: "<resource> [<verbs>]",
 * verbs sorted. Non-resource URLs (discovery, /healthz …) come from the built-in roles every
 * authenticated user has and are compared through the baseline like everything else.
 */
async function canIList(plane: ControlPlane, kubeconfig: string, namespace: string): Promise<string[]> {
  const out = await must(plane, ['auth', 'can-i', '--list', '-n', namespace], undefined, kubeconfig);
  const [header, ...rows] = out.trim().split('\n');
  assert.match(header ?? '', /^Resources\s+Non-Resource URLs\s+Resource Names\s+Verbs/);
  return rows
    .map((row) => {
      // Columns: Resources, Non-Resource URLs ([...]), Resource Names ([...]), Verbs ([...]).
      const m = /^(\S*)\s+(\[[^\]]*\])\s+(\[[^\]]*\])\s+\[([^\]]*)\]\s*$/.exec(row);
      assert.ok(m, `unexpected can-i --list row: ${row}`);
      const [, resource = '', urls = '', names = '', verbs = ''] = m;
      const sortedVerbs = verbs.split(' ').filter(Boolean).sort().join(' ');
      const subject = resource || `url:${urls}`;
      return names === '[]' ? `${subject} [${sortedVerbs}]` : `${subject} ${names} [${sortedVerbs}]`;
    })
    .sort();
}

function list(items: readonly unknown[]): unknown {
  return { apiVersion: 'v1', kind: 'List', items };
}

function finalizers(names: string[]): string {
  return JSON.stringify({ metadata: { finalizers: names } });
}

function wasmFunction(name: string): unknown {
  return {
    apiVersion: 'wasmfleet.io/v1alpha1',
    kind: 'WasmFunction',
    metadata: { name },
    spec: {
      module: { url: 'https://artifacts.example/f.wasm', sha256: 'a'.repeat(64) },
      placement: { sensors: ['temperature'], mode: 'Every' },
      inputs: [{ topic: 'sensors/{node}/temperature', qos: 1 }],
    },
  };
}

function edgeNode(name: string): unknown {
  return { apiVersion: 'wasmfleet.io/v1alpha1', kind: 'EdgeNode', metadata: { name }, spec: {} };
}

function leaseObject(name: string, holder: string): unknown {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name },
    spec: { holderIdentity: holder, leaseDurationSeconds: 15 },
  };
}

function eventObject(namespace: string, fn: string): unknown {
  return {
    apiVersion: 'events.k8s.io/v1',
    kind: 'Event',
    metadata: { name: uniqueName('ev') },
    eventTime: new Date().toISOString().replace('Z', '000Z'),
    reportingController: 'wasmfleet.io/operator',
    reportingInstance: 'wasmfleet-operator-0',
    action: 'Scheduled',
    reason: 'Placed',
    type: 'Normal',
    note: 'placed on 0 nodes',
    regarding: { apiVersion: 'wasmfleet.io/v1alpha1', kind: 'WasmFunction', name: fn, namespace },
  };
}

function controllerRevision(name: string): unknown {
  return {
    apiVersion: 'apps/v1',
    kind: 'ControllerRevision',
    metadata: { name },
    revision: 1,
    data: { spec: { module: { sha256: 'a'.repeat(64) } } },
  };
}
