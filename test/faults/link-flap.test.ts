// SPDX-License-Identifier: Apache-2.0
// A device whose link flaps — down and up for 5–30 s at a time (seeded, randomised) — with the
// real operator running against the shared control plane and real agents running wasm. What a
// user would notice if this went wrong:
//   - a Replicas function moved off the flapping device and back (placement thrash);
//   - a rollout started during the flapping aborted, rolled back or restarted;
//   - the device running the same function twice;
//   - status that does not settle once the link is steady again.
// CI: 60 s of flapping. WASMFLEET_LONG=1: 10 minutes. WASMFLEET_FLAP_SEED picks the schedule.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import mqtt, { type MqttClient } from 'mqtt';
import {
  GROUP,
  parseDesiredState,
  parseNodeStatus,
  VERSION,
  WASM_FUNCTION_PLURAL,
  type EdgeNode,
  type WasmFunction,
} from '@wasmfleet/api';
import {
  createDeviceLink,
  freePort,
  sharedControlPlane,
  startMosquitto,
  uniqueName,
  waitFor,
  type ControlPlane,
  type DeviceLink,
  type Mosquitto,
} from '@wasmfleet/test-support';
import { startOperator, type RunningOperator } from '../../operator/src/operator.ts';
import { LONG, report, startAgentProcess, type AgentProcess } from './helpers/pipeline.ts';

const FLAP_S = Number(process.env.WASMFLEET_FLAP_SECONDS ?? (LONG ? 600 : 60));
const SEED = Number(process.env.WASMFLEET_FLAP_SEED ?? 8);
const ECHO_WAT = new URL('../../agent/test/fixtures/healthy/echo.wat', import.meta.url);

/** mulberry32: a small seeded generator, so a failing schedule can be replayed. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Alternating down/up periods of 5–30 s, down first, covering at least `totalS`. */
export function flapSchedule(seed: number, totalS: number): { down: boolean; seconds: number }[] {
  const random = seeded(seed);
  const periods: { down: boolean; seconds: number }[] = [];
  let elapsed = 0;
  for (let down = true; elapsed < totalS; down = !down) {
    const seconds = 5 + Math.round(random() * 25);
    periods.push({ down, seconds });
    elapsed += seconds;
  }
  if (periods.at(-1)?.down) periods.push({ down: false, seconds: 5 });
  return periods;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe(
  `a device link flapping for ${FLAP_S} s with the operator running`,
  { timeout: (FLAP_S + 400) * 1000 },
  () => {
    let plane: ControlPlane;
    let broker: Mosquitto;
    let link: DeviceLink;
    let operator: RunningOperator;
    let api: CustomObjectsApi;
    let watcher: MqttClient;
    let namespace: string;
    let fleet: string;
    let scratch: string;
    const agents: AgentProcess[] = [];
    const node = (short: string) => `${fleet}-${short}`;
    /** What the broker logged about the flapping agent's connections (takeovers, keepalive expiries). */
    const brokerNotes = async (): Promise<string> =>
      (await broker.log())
        .split('\n')
        .filter((line) => line.includes(`wasmfleet-agent-${node('flappy')}`))
        .slice(-12)
        .join(' | ');

    const kubectlApply = async (object: unknown): Promise<void> => {
      const r = await plane.kubectl(['apply', '-f', '-'], { stdin: JSON.stringify(object) });
      if (r.code !== 0) throw new Error(`kubectl apply failed: ${r.stderr}`);
    };
    const fn = async (name: string): Promise<WasmFunction> =>
      (await api.getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        plural: WASM_FUNCTION_PLURAL,
        namespace,
        name,
      })) as WasmFunction;
    const edgeNode = async (name: string): Promise<EdgeNode> =>
      (await api.getClusterCustomObject({
        group: GROUP,
        version: VERSION,
        plural: 'edgenodes',
        name,
      })) as EdgeNode;
    const functionObject = (
      name: string,
      placement: Record<string, unknown>,
      config: Record<string, string>,
    ) => ({
      apiVersion: 'wasmfleet.io/v1alpha1',
      kind: 'WasmFunction',
      metadata: { name, namespace },
      spec: {
        module: { configMap: { name: 'echo-wasm', key: 'module.wasm' } },
        placement: { nodeSelector: { matchLabels: { site: 'lab' } }, ...placement },
        inputs: [{ topic: 'sensors/{node}/echo', qos: 1, format: 'raw' }],
        outputs: [{ topic: 'out/{node}/echo', qos: 1 }],
        config,
        rollout: { strategy: 'Rolling', maxUnavailable: 1 },
      },
    });
    const startDevice = async (short: string, onLink: boolean): Promise<void> => {
      const name = node(short);
      await kubectlApply({
        apiVersion: 'wasmfleet.io/v1alpha1',
        kind: 'EdgeNode',
        metadata: { name, labels: { 'wasmfleet.io/fleet': fleet, site: 'lab' } },
        spec: {},
      });
      agents.push(
        startAgentProcess({
          brokerUrl: onLink ? link.brokerUrl : broker.url,
          node: name,
          dataDir: path.join(scratch, name),
          extraArgs: ['--heartbeat', '2'],
          ...(onLink
            ? { spawn: (n: string, c: string, o: Parameters<DeviceLink['spawn']>[2]) => link.spawn(n, c, o) }
            : {}),
        }),
      );
      await waitFor(
        `${name} Online`,
        async () => ((await edgeNode(name)).status?.phase === 'Online' ? true : undefined),
        {
          timeoutMs: 60_000,
          intervalMs: 200,
        },
      );
    };

    before(async () => {
      plane = await sharedControlPlane();
      scratch = await mkdtemp(path.join(tmpdir(), 'wasmfleet-faults-flap-'));
      namespace = uniqueName('flap');
      fleet = uniqueName('fleet');
      const created = await plane.kubectl(['create', 'namespace', namespace]);
      if (created.code !== 0) throw new Error(created.stderr);
      const port = await freePort();
      link = await createDeviceLink({ brokerPort: port });
      report(`link flapping via ${link.kind}: ${link.why}`);
      broker = await startMosquitto({ port, extraConfig: link.brokerConfig });
      const kc = new KubeConfig();
      kc.loadFromFile(plane.kubeconfigPath);
      api = kc.makeApiClient(CustomObjectsApi);
      operator = startOperator({
        kubeConfig: kc,
        broker: { url: broker.url, syncQuietMs: 100 },
        leaderElection: false,
        scope: { namespace, fleet },
        workers: 4,
        log: () => undefined,
      });
      await operator.ready;
      // The echo module from the agent's fixtures, assembled, in a ConfigMap.
      const { watToWasm } = await import('../../agent/test/helpers/wasm.ts');
      const moduleFile = path.join(scratch, 'echo.wasm');
      await writeFile(moduleFile, await watToWasm(await readFile(ECHO_WAT, 'utf8')));
      const cm = await plane.kubectl([
        'create',
        'configmap',
        'echo-wasm',
        '-n',
        namespace,
        `--from-file=module.wasm=${moduleFile}`,
        '--dry-run=client',
        '-o',
        'json',
      ]);
      await kubectlApply(JSON.parse(cm.stdout));
      watcher = await mqtt.connectAsync(broker.url, { protocolVersion: 5, reconnectPeriod: 250 });
    });
    after(async () => {
      await Promise.allSettled(agents.map((a) => a.process.stop()));
      await operator.stop();
      await watcher.endAsync(true);
      await broker.dispose();
      await link.dispose();
      await plane.kubectl(['delete', 'namespace', namespace, '--wait=false']);
    });

    it('no placement thrash, no aborted rollout, no duplicate instance, and status converges', async (t) => {
      // The flapping device first, alone, so the Replicas function lands on it.
      await startDevice('flappy', true);
      await kubectlApply(functionObject('pinned', { mode: 'Replicas', replicas: 1 }, { V: '1' }));
      await waitFor(
        'pinned Ready 1/1 on the flapping device',
        async () => {
          const f = await fn('pinned');
          return f.status?.ready === '1/1' && f.status.nodes?.[0]?.node === node('flappy') ? true : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 200 },
      );
      await startDevice('a', false);
      await startDevice('b', false);
      await kubectlApply(functionObject('everywhere', { mode: 'Every' }, { V: '1' }));
      await waitFor(
        'everywhere Ready 3/3',
        async () => ((await fn('everywhere')).status?.ready === '3/3' ? true : undefined),
        { timeoutMs: 90_000, intervalMs: 200 },
      );

      // Watch what a user would see go wrong.
      const pinnedOn = new Map<string, boolean>(); // node → has pinned, from the retained desired docs
      const placementChanges: string[] = [];
      const duplicates: string[] = [];
      let statusDocs = 0;
      // Heartbeats the link held back and delivered late (TCP retransmits them once it heals):
      // how stale the flapping device's reports were when they reached the broker's subscribers.
      const lateReports: number[] = [];
      watcher.on('message', (topic, payload) => {
        if (payload.length === 0) return;
        if (topic.endsWith('/desired')) {
          const doc = parseDesiredState(payload);
          if (!doc.ok) return;
          const has = doc.value.functions.some((f) => f.name === 'pinned');
          if (pinnedOn.get(doc.value.node) !== has) {
            if (pinnedOn.has(doc.value.node) || has)
              placementChanges.push(`${doc.value.node}: ${has ? '+' : '-'}pinned`);
            pinnedOn.set(doc.value.node, has);
          }
        } else if (topic.endsWith('/status')) {
          const status = parseNodeStatus(payload);
          if (!status.ok) return;
          statusDocs++;
          const beatAt = status.value.heartbeatAt ? Date.parse(status.value.heartbeatAt) : undefined;
          if (status.value.node === node('flappy') && beatAt !== undefined && Date.now() - beatAt > 6_000)
            lateReports.push(Math.round((Date.now() - beatAt) / 1000));
          const names = (status.value.functions ?? []).map((f) => `${f.namespace}/${f.name}`);
          const twice = names.filter((n, i) => names.indexOf(n) !== i);
          if (twice.length > 0) duplicates.push(`${status.value.node}: ${twice.join(', ')}`);
        }
      });
      await watcher.subscribeAsync(['wasmfleet/v1/nodes/+/desired', 'wasmfleet/v1/nodes/+/status'], {
        qos: 1,
      });
      await sleep(500);
      const initialPlacement = [...placementChanges];
      placementChanges.length = 0;

      const rollout: { revision?: string; phase?: string }[] = [];
      const flapStartedAt = Date.now();
      const devicePhases: string[] = []; // "Offline@12s" — the flapping EdgeNode's phase over time
      let polling = true;
      const poll = (async () => {
        while (polling) {
          const [f, n] = await Promise.all([
            fn('everywhere').catch(() => undefined),
            edgeNode(node('flappy')).catch(() => undefined),
          ]);
          const s = f?.status?.rollout;
          const last = rollout.at(-1);
          if (s && (s.revision !== last?.revision || s.phase !== last?.phase))
            rollout.push({ revision: s.revision, phase: s.phase });
          const phase = n?.status?.phase ?? '?';
          if (!devicePhases.at(-1)?.startsWith(`${phase}@`))
            devicePhases.push(`${phase}@${Math.round((Date.now() - flapStartedAt) / 1000)}s`);
          await sleep(250);
        }
      })();
      // Stopped on a failure too: a loop left running kept the test file's process alive (regression:
      // a timed-out run held its lane of the suite for ten more minutes).
      t.after(() => {
        polling = false;
      });

      // Flap; a new revision of `everywhere` is applied while the link is down the first time.
      const schedule = flapSchedule(SEED, FLAP_S);
      report(`seed ${SEED}: ${schedule.map((p) => `${p.down ? 'down' : 'up'} ${p.seconds}s`).join(', ')}`);
      const flappyAgent = agents[0]!;
      let updated = false;
      for (const period of schedule) {
        if (period.down) await link.partition();
        else await link.heal();
        let spentMs = 0;
        if (period.down && !updated) {
          updated = true;
          await sleep(1_000);
          await kubectlApply(functionObject('everywhere', { mode: 'Every' }, { V: '2' }));
          spentMs = 1_000;
        }
        await sleep(period.seconds * 1000 - spentMs);
        assert.equal(flappyAgent.process.child.exitCode, null, 'the flapping agent is still running');
      }
      await link.heal();
      const steadyAt = Date.now();

      // Converges once the link is steady.
      const final = await waitFor(
        'everywhere rolled out to 3/3 and complete',
        async () => {
          const f = await fn('everywhere');
          const s = f.status;
          return s?.ready === '3/3' &&
            s.updatedNodes === 3 &&
            s.currentRevision === s.updateRevision &&
            s.rollout?.phase === 'Complete'
            ? f
            : undefined;
        },
        { timeoutMs: 180_000, intervalMs: 500 },
      );
      let seen = '';
      await waitFor(
        'the flapping device Online, pinned still Ready on it',
        async () => {
          const [n, p] = await Promise.all([edgeNode(node('flappy')), fn('pinned')]);
          seen = JSON.stringify({ device: n.status?.phase, pinned: p.status?.ready, on: p.status?.nodes });
          return n.status?.phase === 'Online' &&
            p.status?.ready === '1/1' &&
            p.status.nodes?.[0]?.node === node('flappy')
            ? true
            : undefined;
        },
        { timeoutMs: 120_000, intervalMs: 500 },
      ).catch(async (error: unknown) => {
        throw new Error(
          `${(error as Error).message}; last seen ${seen}; device phases ${devicePhases.join(' → ')}; ` +
            `late reports (s): ${lateReports.join(', ')}; ` +
            `broker: ${await brokerNotes()}`,
          { cause: error },
        );
      });
      const convergedS = (Date.now() - steadyAt) / 1000;
      polling = false;
      await poll;

      report(
        `flap: ${schedule.filter((p) => p.down).length} outages; converged ${convergedS.toFixed(0)} s after the last; ` +
          `rollout ${rollout.map((r) => `${r.revision ?? '?'}:${r.phase ?? '?'}`).join(' → ')}; ` +
          `placement changes ${placementChanges.length}; status docs seen ${statusDocs}; ` +
          `device phases ${devicePhases.join(' → ')}; ` +
          `flapping device's reports older than 3 heartbeats on arrival: ${lateReports.length} (ages ${lateReports.join(', ')} s); ` +
          `broker: ${await brokerNotes()}`,
      );
      assert.deepEqual(
        initialPlacement,
        [`${node('flappy')}: +pinned`],
        'pinned started on the flapping device',
      );
      assert.deepEqual(placementChanges, [], 'the Replicas function moved while the link flapped');
      assert.deepEqual(duplicates, [], 'a device reported the same function twice');
      const phases = new Set(rollout.map((r) => r.phase));
      for (const bad of ['RolledBack', 'Aborted', 'Degraded'])
        assert.ok(!phases.has(bad), `the rollout went ${bad}: ${JSON.stringify(rollout)}`);
      const revisions = rollout.map((r) => r.revision);
      const newRevision = final.status?.updateRevision;
      const firstNew = revisions.indexOf(newRevision);
      assert.ok(firstNew >= 0, `the new revision was rolled out: ${JSON.stringify(rollout)}`);
      assert.ok(
        revisions.slice(firstNew).every((r) => r === newRevision),
        `the rollout went back to another revision: ${JSON.stringify(rollout)}`,
      );
    });
  },
);
