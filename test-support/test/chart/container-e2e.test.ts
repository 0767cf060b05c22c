// The container tier: k3s and Mosquitto in containers (testcontainers), the operator and agent
// images built from the Dockerfile and imported into k3s, the chart installed into a namespace
// that enforces the restricted Pod Security Standard, and the operator must become Ready.
//
// It needs a container engine. Where none answers, it reports itself skipped with the reason
// "no container engine (docker/podman) found" — the only reason it may be skipped.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ensureControlPlaneBinaries } from '../../src/index.ts';
import { runKubectl } from '../../src/control-plane/control-plane.ts';
import { findContainerEngine, NO_ENGINE, type ContainerEngine } from './container-engine.ts';
import { CHART_DIR, REPO_ROOT, helm } from './helm.ts';

const run = promisify(execFile);
const engine = await findContainerEngine();
const K3S_IMAGE = process.env.WASMFLEET_K3S_IMAGE ?? 'rancher/k3s:v1.32.3-k3s1';
const MOSQUITTO_IMAGE = process.env.WASMFLEET_MOSQUITTO_IMAGE ?? 'eclipse-mosquitto:2.0.22';
const TAG = 'e2e';
const NAMESPACE = 'wasmfleet';
const SIMULATED = 2;

describe('container e2e: k3s + Mosquitto + the chart', () => {
  // The skip sits on the test, not the suite, so the runner counts it as skipped (with the reason).
  it(
    'installs the chart and the operator becomes Ready',
    { skip: engine ? false : NO_ENGINE, timeout: 30 * 60_000 },
    async () => {
      await installAndCheck(engine!);
    },
  );
});

async function installAndCheck(found: ContainerEngine): Promise<void> {
  // testcontainers finds Podman only through DOCKER_HOST.
  process.env.DOCKER_HOST ??= `unix://${found.socket}`;
  const { GenericContainer, Network, Wait } = await import('testcontainers');
  const { K3sContainer } = await import('@testcontainers/k3s');
  assert.ok(
    found.cli,
    `a container engine answers on ${found.socket}, but neither docker nor podman is on PATH to export images`,
  );
  const cli = found.cli;

  const scratch = await mkdtemp(path.join(tmpdir(), 'wasmfleet-container-e2e-'));
  const network = await new Network().start();
  const cleanups: (() => Promise<unknown>)[] = [
    () => network.stop(),
    () => rm(scratch, { recursive: true, force: true }),
  ];
  try {
    // The images, from the repository's Dockerfile.
    for (const target of ['operator', 'agent']) {
      await GenericContainer.fromDockerfile(REPO_ROOT)
        .withTarget(target)
        .build(`wasmfleet/${target}:${TAG}`, { deleteOnExit: false });
    }

    // The broker: its own container, with per-user passwords like the chart's.
    const passwords: Record<string, string> = { 'wasmfleet-operator': 'operator-secret' };
    for (let i = 0; i < SIMULATED; i++) passwords[`wasmfleet-sim-${i}`] = `device-secret-${i}`;
    const passwd =
      Object.entries(passwords)
        .map(([u, p]) => `${u}:${p}`)
        .join('\n') + '\n';
    const mosquitto = await new GenericContainer(MOSQUITTO_IMAGE)
      .withNetwork(network)
      .withCopyContentToContainer([
        { content: passwd, target: '/mosquitto/config/passwd', mode: 0o600 },
        {
          content: 'listener 1883\nallow_anonymous false\npassword_file /mosquitto/config/passwd\n',
          target: '/mosquitto/config/mosquitto.conf',
        },
      ])
      .withCommand([
        'sh',
        '-c',
        'mosquitto_passwd -U /mosquitto/config/passwd && chown mosquitto /mosquitto/config/passwd && exec mosquitto -c /mosquitto/config/mosquitto.conf',
      ])
      .withWaitStrategy(Wait.forLogMessage(/mosquitto version .* running/))
      .start();
    cleanups.unshift(() => mosquitto.stop());
    // Pods resolve names through CoreDNS, not the engine's network DNS: reach the broker by address.
    const brokerUrl = `mqtt://${mosquitto.getIpAddress(network.getName())}:1883`;

    const k3s = await new K3sContainer(K3S_IMAGE).withNetwork(network).start();
    cleanups.unshift(() => k3s.stop());
    for (const target of ['operator', 'agent']) {
      const archive = path.join(scratch, `${target}.tar`);
      await run(cli, ['save', '-o', archive, `wasmfleet/${target}:${TAG}`]);
      await k3s.copyFilesToContainer([{ source: archive, target: `/tmp/${target}.tar` }]);
      const imported = await k3s.exec(['ctr', '-n', 'k8s.io', 'images', 'import', `/tmp/${target}.tar`]);
      assert.equal(imported.exitCode, 0, imported.output);
    }

    const kubeconfig = path.join(scratch, 'kubeconfig');
    await writeFile(kubeconfig, k3s.getKubeConfig(), { mode: 0o600 });
    const kubectlBinary = (await ensureControlPlaneBinaries()).kubectl;
    const kubectl = async (args: string[]): Promise<string> => {
      const result = await runKubectl(kubectlBinary, kubeconfig, args);
      assert.equal(result.code, 0, `kubectl ${args.join(' ')} failed:\n${result.stderr}`);
      return result.stdout;
    };
    await kubectl(['create', 'namespace', NAMESPACE]);
    await kubectl(['label', 'namespace', NAMESPACE, 'pod-security.kubernetes.io/enforce=restricted']);
    await kubectl([
      'create',
      'secret',
      'generic',
      'mqtt-credentials',
      '-n',
      NAMESPACE,
      ...Object.entries(passwords).map(([u, p]) => `--from-literal=${u}=${p}`),
    ]);
    // Each simulated device reads its password from its own Secret (what the operator makes with
    // the bundled broker; with your own broker you make them).
    for (let i = 0; i < SIMULATED; i++) {
      await kubectl([
        ...['create', 'secret', 'generic', `wasmfleet-mqtt-wasmfleet-sim-${i}`, '-n', NAMESPACE],
        ...[`--from-literal=username=wasmfleet-sim-${i}`, `--from-literal=password=device-secret-${i}`],
      ]);
    }

    const installed = await helm([
      'install',
      'wasmfleet',
      CHART_DIR,
      '--kubeconfig',
      kubeconfig,
      '--namespace',
      NAMESPACE,
      '--set',
      `operator.image.tag=${TAG}`,
      '--set',
      'operator.image.pullPolicy=Never',
      '--set',
      'mosquitto.enabled=false',
      '--set',
      `broker.url=${brokerUrl}`,
      '--set',
      'mosquitto.auth.existingSecret=mqtt-credentials',
      '--set',
      'broker.passwordSecret.name=mqtt-credentials',
      '--set',
      'broker.passwordSecret.key=wasmfleet-operator',
      '--set',
      'simulator.enabled=true',
      '--set',
      `simulator.replicas=${SIMULATED}`,
      '--set',
      `simulator.image.tag=${TAG}`,
      '--set',
      'simulator.image.pullPolicy=Never',
      '--wait',
      '--timeout',
      '5m',
    ]);
    assert.equal(installed.code, 0, `helm install failed:\n${installed.stderr}`);
    await kubectl(['rollout', 'status', 'deployment/wasmfleet-operator', '-n', NAMESPACE, '--timeout=180s']);
    const ready = await kubectl([
      'get',
      'deployment',
      'wasmfleet-operator',
      '-n',
      NAMESPACE,
      '-o',
      'jsonpath={.status.readyReplicas}',
    ]);
    assert.equal(ready.trim(), '1', 'the operator reports Ready through /readyz');
    await kubectl(['rollout', 'status', 'statefulset/wasmfleet-sim', '-n', NAMESPACE, '--timeout=180s']);
  } finally {
    for (const cleanup of cleanups)
      await cleanup().catch((error: unknown) => console.error('cleanup failed:', error));
  }
}
