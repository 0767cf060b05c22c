// SPDX-License-Identifier: Apache-2.0
// The Helm chart as a user meets it: linted and rendered by a real helm, every rendered object
// accepted by a real kube-apiserver (server-side dry run), a bad values file rejected by
// values.schema.json with a message that names the key, and CRDs identical to crds/.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { sharedControlPlane, uniqueName } from '../../src/index.ts';
import { ALL_OPTIONS, CHART_DIR, find, helm, render, template, valuesFile, type Manifest } from './helm.ts';
import { crdDrift } from './sync-crds.ts';

/** Every option, and a set of native-agent devices beside the Node ones (simulator.extraSets). */
const MIXED_FLEET: Record<string, unknown> = {
  ...ALL_OPTIONS,
  simulator: {
    ...(ALL_OPTIONS.simulator as Record<string, unknown>),
    extraSets: [{ name: 'native', runtime: 'native', replicas: 1 }],
  },
};

// A cold helm build takes minutes; every later run finds it in the cache at once.
before(
  async () => {
    await helm(['version']);
  },
  { timeout: 15 * 60_000 },
);

describe('helm lint', () => {
  it('passes with default values and with every option on', async () => {
    const plain = await helm(['lint', '--strict', CHART_DIR]);
    assert.equal(plain.code, 0, plain.stdout + plain.stderr);
    assert.match(plain.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    const all = await helm(['lint', '--strict', CHART_DIR, '-f', await valuesFile(ALL_OPTIONS)]);
    assert.equal(all.code, 0, all.stdout + all.stderr);
  });
});

describe('helm template', () => {
  it('renders the operator, its RBAC and the bundled Mosquitto with default values', async () => {
    const { manifests } = await render({ namespace: 'wasmfleet' });
    const kinds = manifests.map((m) => `${m.kind}/${m.metadata.name}`).sort();
    assert.deepEqual(kinds, [
      'ClusterRole/wasmfleet-operator',
      'ClusterRoleBinding/wasmfleet-operator',
      'ConfigMap/wasmfleet-mosquitto',
      'Deployment/wasmfleet-mosquitto',
      'Deployment/wasmfleet-operator',
      'Role/wasmfleet-operator-leader-election',
      'RoleBinding/wasmfleet-operator-leader-election',
      'Secret/wasmfleet-mqtt-credentials',
      'Secret/wasmfleet-mqtt-tls',
      'Service/wasmfleet-mosquitto',
      'Service/wasmfleet-operator-metrics',
      'ServiceAccount/wasmfleet-operator',
    ]);
    const operator = podSpec(find(manifests, 'Deployment', '-operator'));
    const container = operator.containers[0]!;
    assert.equal(container.image, 'wasmfleet/operator:0.1.0', 'the image tag defaults to appVersion');
    assert.deepEqual(container.startupProbe, {
      httpGet: { path: '/healthz', port: 'ops' },
      periodSeconds: 2,
      failureThreshold: 90,
    });
    assert.deepEqual(container.livenessProbe, {
      httpGet: { path: '/healthz', port: 'ops' },
      periodSeconds: 10,
      timeoutSeconds: 5,
      failureThreshold: 3,
    });
    assert.deepEqual(container.readinessProbe?.httpGet, { path: '/readyz', port: 'ops' });
    assert.deepEqual(
      container.ports?.map((p) => [p.name, p.containerPort]),
      [['ops', 8080]],
    );
    assert.deepEqual(
      container.args,
      ['--leader-elect', '--device-identity', '--device-publish=sensors/{node}/#'],
      'leader election is on by default, and per-device identity with the bundled broker',
    );
    const env = Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value ?? 'from field']));
    assert.equal(env.WASMFLEET_BROKER, 'mqtts://wasmfleet-mosquitto.wasmfleet.svc:8883', 'TLS only');
    assert.equal(env.WASMFLEET_DEVICE_BROKER_URL, env.WASMFLEET_BROKER);
    assert.equal(env.WASMFLEET_BROKER_CA_FILE, '/var/run/secrets/wasmfleet/mqtt-ca/ca.crt');
    assert.equal(
      (operator.volumes ?? []).find((v) => v.name === 'mqtt-ca')?.secret?.secretName,
      'wasmfleet-mqtt-tls',
      'the operator verifies the bundled broker with the generated CA',
    );
    assert.equal(env.WASMFLEET_BROKER_PASSWORD_FILE, '/var/run/secrets/wasmfleet/mqtt/password');
    assert.equal(env.WASMFLEET_OPS_BIND_ADDRESS, '0.0.0.0:8080');
    assert.equal(env.POD_NAMESPACE, 'from field');
    // The operator mounts only its own key of the credentials Secret.
    const password = operator.volumes?.find((v) => v.name === 'mqtt-password');
    assert.deepEqual(password?.secret?.items, [{ key: 'wasmfleet-operator', path: 'password' }]);
    assert.ok(container.resources?.requests && container.resources.limits, 'requests and limits are set');
  });

  it('sizes the operator memory limit from operator.fleetSize, keeping its other resources', async () => {
    const limitFor = async (values: Record<string, unknown>) => {
      const { manifests } = await render({ namespace: 'wasmfleet', values: { operator: values } });
      return podSpec(find(manifests, 'Deployment', '-operator')).containers[0]?.resources ?? {};
    };
    assert.equal((await limitFor({})).limits?.memory, '512Mi', 'the default pod');
    assert.equal((await limitFor({ fleetSize: 10_000 })).limits?.memory, '512Mi', 'never below the default');
    const large = await limitFor({ fleetSize: 100_000 });
    // 30,000 devices under the earlier 13.5 KiB rule (560Mi) ran out of heap in a rollout.
    assert.equal((await limitFor({ fleetSize: 30_000 })).limits?.memory, '780Mi', 'a 390 MiB old generation');
    assert.equal(large.limits?.memory, '2215Mi', '165Mi + 21 KiB a device (ADR 0048, 7 Dec)');
    assert.deepEqual(large.requests, { cpu: '50m', memory: '128Mi' }, 'requests are left as they are');
  });

  it('renders every option: two replicas, simulated devices as a StatefulSet, real devices', async () => {
    const { manifests } = await render({ namespace: 'edge', release: 'fleet', values: ALL_OPTIONS });
    const operator = find(manifests, 'Deployment', '-operator');
    assert.equal((operator.spec as { replicas: number }).replicas, 2);
    const sim = find(manifests, 'StatefulSet', '-sim');
    assert.equal((sim.spec as { replicas: number }).replicas, 2);
    const simPod = podSpec(sim);
    const agent = simPod.containers[0]!;
    assert.equal(agent.args, undefined);
    const env = Object.fromEntries((agent.env ?? []).map((e) => [e.name, e.value]));
    assert.equal(env.WASMFLEET_NODE, '$(POD_NAME)', 'a device is named after its stable pod name');
    assert.equal(env.WASMFLEET_SENSORS, 'temperature,camera');
    assert.equal(simPod.automountServiceAccountToken, false, 'devices hold no Kubernetes credentials');
    const mounted = simPod.volumes
      ?.find((v) => v.name === 'mqtt-passwords')
      ?.projected?.sources?.map((source) => [source.secret?.name, source.secret?.items]);
    assert.deepEqual(
      mounted,
      [0, 1].map((i) => [
        `wasmfleet-mqtt-fleet-wasmfleet-sim-${i}`,
        [{ key: 'password', path: `fleet-wasmfleet-sim-${i}` }],
      ]),
      'only the simulated devices’ own Secrets',
    );

    const secret = find(manifests, 'Secret', '-mqtt-credentials') as Manifest & {
      data: Record<string, string>;
    };
    assert.deepEqual(Object.keys(secret.data), ['wasmfleet-operator'], 'only the operator’s password');
    assert.equal(Buffer.from(secret.data['wasmfleet-operator']!, 'base64').length, 32, 'generated');
    // Devices are registered as EdgeNodes; the operator makes their identities.
    const nodes = manifests.filter((m) => m.kind === 'EdgeNode');
    assert.deepEqual(
      nodes.map((n) => n.metadata.name),
      ['fleet-wasmfleet-sim-0', 'fleet-wasmfleet-sim-1', 'pump-7', 'gw-1'],
    );
    assert.equal((nodes[3]?.metadata.labels as Record<string, string>).site, 'plant-1');
    const tls = find(manifests, 'Secret', '-mqtt-tls') as Manifest & { data: Record<string, string> };
    assert.deepEqual(Object.keys(tls.data).sort(), ['ca.crt', 'tls.crt', 'tls.key']);
    for (const m of manifests) assert.equal((m.metadata.labels as Record<string, string>).team, 'edge');
  });

  it('runs the simulated devices on the native agent with simulator.runtime native, same environment', async () => {
    const simulator = ALL_OPTIONS.simulator as Record<string, unknown>;
    const values = { ...ALL_OPTIONS, simulator: { ...simulator, runtime: 'native' } };
    const { manifests } = await render({ namespace: 'edge', release: 'fleet', values });
    const agent = podSpec(find(manifests, 'StatefulSet', '-sim')).containers[0]!;
    assert.match(agent.image ?? '', /^wasmfleet\/agent-native:/);
    assert.deepEqual(agent.command, ['/usr/bin/wasmfleet-agent-native']);
    const env = Object.fromEntries((agent.env ?? []).map((e) => [e.name, e.value]));
    assert.equal(env.WASMFLEET_NODE, '$(POD_NAME)', 'the native agent reads the same variables');
    const bad = await template({ values: { simulator: { runtime: 'wasmer' } } });
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /runtime/);
  });

  it('runs a mixed fleet with simulator.extraSets: a native set beside the Node one, each apart', async () => {
    const { manifests } = await render({ namespace: 'edge', release: 'fleet', values: MIXED_FLEET });
    const node = find(manifests, 'StatefulSet', '-sim');
    const native = find(manifests, 'StatefulSet', '-sim-native');
    assert.match(podSpec(node).containers[0]!.image ?? '', /^wasmfleet\/agent:/);
    const nativeAgent = podSpec(native).containers[0]!;
    assert.match(nativeAgent.image ?? '', /^wasmfleet\/agent-native:/);
    assert.deepEqual(nativeAgent.command, ['/usr/bin/wasmfleet-agent-native']);
    assert.equal((native.spec as { replicas: number }).replicas, 1);
    const env = Object.fromEntries((nativeAgent.env ?? []).map((e) => [e.name, e.value]));
    assert.equal(env.WASMFLEET_SENSORS, 'temperature,camera', 'a set takes the settings it does not name');
    // Neither set's selector (nor its Service's) matches the other set's pods.
    const selector = (m: Manifest): Record<string, string> =>
      (m.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels;
    const labels = (m: Manifest): Record<string, string> =>
      (m.spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata.labels;
    const matches = (sel: Record<string, string>, l: Record<string, string>): boolean =>
      Object.entries(sel).every(([k, v]) => l[k] === v);
    assert.ok(!matches(selector(node), labels(native)) && !matches(selector(native), labels(node)));
    const secrets = (m: Manifest): (string | undefined)[] | undefined =>
      podSpec(m)
        .volumes?.find((v) => v.name === 'mqtt-passwords')
        ?.projected?.sources?.map((source) => source.secret?.name);
    assert.deepEqual(
      secrets(native),
      ['wasmfleet-mqtt-fleet-wasmfleet-sim-native-0'],
      'only its own devices’',
    );
    assert.deepEqual(
      manifests.filter((m) => m.kind === 'EdgeNode').map((n) => n.metadata.name),
      ['fleet-wasmfleet-sim-0', 'fleet-wasmfleet-sim-1', 'fleet-wasmfleet-sim-native-0', 'pump-7', 'gw-1'],
    );
    const simulator = MIXED_FLEET.simulator as Record<string, unknown>;
    const twice = await template({
      values: { simulator: { ...simulator, extraSets: [{ name: 'native' }, { name: 'native' }] } },
    });
    assert.notEqual(twice.code, 0);
    assert.match(twice.stderr, /simulator\.extraSets: two sets are named "native"/);
  });

  it('refuses two operator replicas without leader election, and no broker at all', async () => {
    const twoLeaders = await template({
      values: { operator: { replicas: 2, leaderElection: { enabled: false } } },
    });
    assert.notEqual(twoLeaders.code, 0);
    assert.match(twoLeaders.stderr, /operator\.replicas > 1 needs operator\.leaderElection\.enabled=true/);
    const noBroker = await template({ values: { mosquitto: { enabled: false } } });
    assert.notEqual(noBroker.code, 0);
    assert.match(noBroker.stderr, /broker\.url is required when mosquitto\.enabled is false/);
    const ownBroker = await render({
      values: { mosquitto: { enabled: false }, broker: { url: 'mqtts://b:8883' } },
    });
    assert.ok(!ownBroker.manifests.some((m) => m.kind === 'Secret' || m.metadata.name.includes('mosquitto')));
  });
});

describe('values.schema.json', () => {
  it('rejects a typo in a key, naming the key and where it is', async () => {
    const result = await template({ values: { operator: { replica: 2 } } });
    assert.notEqual(result.code, 0, 'a typo must fail, not be ignored');
    assert.match(result.stderr, /values don't meet the specifications of the schema/);
    assert.match(result.stderr, /\/operator/);
    assert.match(result.stderr, /additional propert(y|ies) 'replica' not allowed/);
  });

  it('rejects a wrong type and an unknown top-level key', async () => {
    const wrongType = await template({ values: { operator: { replicas: 'two' } } });
    assert.notEqual(wrongType.code, 0);
    assert.match(wrongType.stderr, /\/operator\/replicas/);
    assert.match(wrongType.stderr, /want integer/);
    const topLevel = await template({ values: { mosquito: { enabled: true } } });
    assert.notEqual(topLevel.code, 0);
    assert.match(topLevel.stderr, /additional propert(y|ies) 'mosquito' not allowed/);
    const badNode = await template({ values: { mosquitto: { auth: { devices: [{ name: 'Pump 7' }] } } } });
    assert.notEqual(badNode.code, 0);
    assert.match(badNode.stderr, /\/mosquitto\/auth\/devices\/0\/name/);
  });
});

describe('chart CRDs', () => {
  it('are byte-for-byte the generated crds/ (run test-support/test/chart/sync-crds.ts to fix)', async () => {
    assert.deepEqual(await crdDrift(), []);
  });

  it('are what helm installs from the chart', async () => {
    const { manifests } = await render({ includeCrds: true });
    const crds = manifests.filter((m) => m.kind === 'CustomResourceDefinition').map((m) => m.metadata.name);
    assert.deepEqual(crds.sort(), [
      'agentrollouts.wasmfleet.io',
      'edgenodes.wasmfleet.io',
      'wasmfunctions.wasmfleet.io',
    ]);
  });
});

describe('the real API server', () => {
  for (const [label, values] of [
    ['default values', {}],
    ['every option on', ALL_OPTIONS],
    ['a mixed fleet', MIXED_FLEET],
  ] as const) {
    it(`accepts everything the chart renders with ${label} (server-side dry run)`, async () => {
      const plane = await sharedControlPlane();
      const namespace = uniqueName('wf-chart');
      const created = await plane.kubectl(['create', 'namespace', namespace]);
      assert.equal(created.code, 0, created.stderr);
      const { yaml, manifests } = await render({
        release: uniqueName('dry'),
        namespace,
        values,
        includeCrds: true,
      });
      const applied = await plane.kubectl(['apply', '--dry-run=server', '-f', '-'], { stdin: yaml });
      assert.equal(applied.code, 0, `kubectl apply --dry-run=server failed:\n${applied.stderr}`);
      // One "… created (server dry run)" or "configured"/"unchanged" line per object.
      const lines = applied.stdout.trim().split('\n');
      assert.equal(lines.length, manifests.length, applied.stdout);
      for (const line of lines) assert.match(line, /\(server dry run\)$/);
    });
  }
});

interface Container {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: { name: string; value?: string }[];
  ports?: { name: string; containerPort: number }[];
  livenessProbe?: Record<string, unknown>;
  startupProbe?: Record<string, unknown>;
  readinessProbe?: { httpGet?: Record<string, unknown> };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}
interface PodSpec {
  containers: Container[];
  automountServiceAccountToken?: boolean;
  volumes?: {
    name: string;
    secret?: { secretName?: string; items?: { key: string; path: string }[] };
    projected?: { sources?: { secret?: { name?: string; items?: { key: string; path: string }[] } }[] };
  }[];
}

function podSpec(workload: Manifest): PodSpec {
  return (workload.spec as { template: { spec: PodSpec } }).template.spec;
}
