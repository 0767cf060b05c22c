// SPDX-License-Identifier: Apache-2.0
// Faults only a container engine makes: the agent image and the Mosquitto image (both built on
// this machine, test-support/src/images) run as containers started with testcontainers, and the
// engine pauses the broker, cuts the agent off its network, and restarts the agent with its
// volume. Each time, every QoS 1 reading must come out of the function exactly once.
//
// It needs a container engine; scripts/container-engine starts one (CI runs it). It skips only
// where none answers, and says so — never because a registry is unreachable (nothing is pulled).
import assert from 'node:assert/strict';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { moduleTopic } from '@wasmfleet/api';
import {
  ensureContainerImages,
  findContainerEngine,
  MOSQUITTO_IMAGE,
  NO_ENGINE,
  runCommand,
} from '@wasmfleet/test-support/containers';
import {
  collect,
  connect,
  fnSpec,
  fnStatus,
  publishDesired,
  publishModule,
  until,
  waitForStatus,
} from '../helpers/fleet.ts';
import { fixture } from '../helpers/wasm.ts';

const engine = await findContainerEngine();
const NODE = 'container-dev-1';
const AGENT_UID = 65532;
// Nothing is pulled: Ryuk (testcontainers' reaper) would be; the test removes what it starts.
process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';

describe('engine faults: agent and Mosquitto containers', { skip: engine ? false : NO_ENGINE }, () => {
  type Started = import('testcontainers').StartedTestContainer;
  let broker: Started;
  let agent: Started;
  let network: import('testcontainers').StartedNetwork;
  let operator: MqttClient;
  let dataDir: string;
  let echo: Uint8Array;
  let sequence = 0;
  const cleanups: (() => Promise<unknown>)[] = [];
  const docker = async (...args: string[]): Promise<void> => {
    await runCommand('docker', args);
  };

  /** Publishes `count` numbered QoS 1 readings without waiting for their acks. */
  function send(count: number): { sent: string[]; acked: Promise<unknown> } {
    const sent: string[] = [];
    const acks: Promise<unknown>[] = [];
    for (let i = 0; i < count; i++) {
      const m = `m${sequence++}`;
      sent.push(m);
      acks.push(operator.publishAsync(`sensors/${NODE}/f`, m, { qos: 1 }));
    }
    return { sent, acked: Promise.all(acks) };
  }

  async function expectOutputs(sink: string[], sent: readonly string[]): Promise<void> {
    await until('every output', () => sent.every((m) => sink.includes(m)), 60_000);
    await new Promise((r) => setTimeout(r, 500)); // a duplicate would arrive by now
    const ours = sink.filter((m) => sent.includes(m));
    assert.deepEqual([...ours].sort(), [...sent].sort(), 'every reading came out exactly once');
  }

  before(async () => {
    process.env.DOCKER_HOST ??= `unix://${engine!.socket}`;
    const [agentImage] = await ensureContainerImages(['agent', 'mosquitto'], { tag: 'e2e' });
    const { GenericContainer, Network, Wait } = await import('testcontainers');
    network = await new Network().start();
    cleanups.push(() => network.stop());
    broker = await new GenericContainer(MOSQUITTO_IMAGE)
      .withNetwork(network)
      .withNetworkAliases('broker')
      .withExposedPorts(1883)
      .withCopyContentToContainer([
        {
          content:
            'listener 1883\nallow_anonymous true\npersistence true\npersistence_location /mosquitto/data/\n',
          target: '/mosquitto/config/mosquitto.conf',
        },
      ])
      .withWaitStrategy(Wait.forLogMessage(/mosquitto version .* running/))
      .start();
    cleanups.push(() => broker.stop());
    operator = await connect(`mqtt://localhost:${broker.getMappedPort(1883)}`);
    cleanups.push(() => operator.endAsync());
    echo = await fixture('healthy/echo.wat');
    await publishModule(operator, echo);
    await publishDesired(operator, NODE, [fnSpec('f', echo)], 1);

    dataDir = await mkdtemp(path.join(tmpdir(), 'wasmfleet-agent-volume-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    await chown(dataDir, AGENT_UID, AGENT_UID);
    agent = await new GenericContainer(agentImage!.tag)
      .withNetwork(network)
      .withBindMounts([{ source: dataDir, target: '/var/lib/wasmfleet' }])
      .withCommand(['--broker', 'mqtt://broker:1883', '--node', NODE, '--heartbeat', '1'])
      .withStartupTimeout(60_000)
      .start();
    cleanups.push(() => agent.stop());
    await waitForStatus(
      operator,
      NODE,
      (s) => s.state === 'online' && fnStatus(s, 'f')?.phase === 'Running',
      60_000,
    );
  });

  after(async () => {
    // In reverse order of starting; a before() that failed half-way started only some.
    for (const cleanup of cleanups.reverse())
      await cleanup().catch((error: unknown) => console.error('cleanup:', error));
  });

  it('QoS 1 readings sent while the broker container is paused all come out once it resumes', async () => {
    const sink = await collect(operator, `out/${NODE}/f`);
    await docker('pause', broker.getId());
    const { sent, acked } = send(50);
    await new Promise((r) => setTimeout(r, 3_000));
    await docker('unpause', broker.getId());
    await acked;
    await expectOutputs(sink, sent);
  });

  it('an agent cut off its network catches up on every QoS 1 reading when it is reconnected', async () => {
    const sink = await collect(operator, `out/${NODE}/f`);
    await docker('network', 'disconnect', network.getName(), agent.getId());
    const { sent, acked } = send(50);
    await acked; // the broker holds them for the agent's persistent session
    await new Promise((r) => setTimeout(r, 3_000));
    await docker('network', 'connect', network.getName(), agent.getId());
    await expectOutputs(sink, sent);
  });

  it('an agent restarted with its volume runs its function from the module cache when the broker no longer has the module', async () => {
    // Clear the retained module: only the agent's volume still has it.
    await operator.publishAsync(moduleTopic(fnSpec('f', echo).module.sha256), '', { qos: 1, retain: true });
    const before = await waitForStatus(operator, NODE, (s) => s.state === 'online');
    await agent.restart();
    await waitForStatus(
      operator,
      NODE,
      (s) =>
        s.state === 'online' && s.startedAt !== before.startedAt && fnStatus(s, 'f')?.phase === 'Running',
      60_000,
    );
    const sink = await collect(operator, `out/${NODE}/f`);
    const { sent, acked } = send(50);
    await acked;
    await expectOutputs(sink, sent);
  });
});
