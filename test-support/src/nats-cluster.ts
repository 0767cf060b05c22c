// SPDX-License-Identifier: Apache-2.0
// A 3-node nats-server cluster with JetStream and MQTT 3.1.1 on every node (retained messages and
// sessions replicated 3 ways), on free loopback ports: the clustered broker of issue 18. Each node
// can be killed and started again on its ports with its store, so a test can take one away mid-run.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { ensureNatsServerBinary } from './nats-binary.ts';
import { restartableProcess, type RestartableProcess } from './restartable-process.ts';
import { freePort, waitFor } from './util.ts';

/** kill(): the node vanishes without a goodbye; start(): it rejoins on its ports with its store. */
export interface NatsClusterNode extends Pick<
  RestartableProcess,
  'pid' | 'running' | 'kill' | 'start' | 'log'
> {
  readonly name: string;
  /** `mqtt://127.0.0.1:<port>` of this node alone. */
  readonly url: string;
  readonly mqttPort: number;
}

export interface NatsCluster {
  readonly nodes: readonly NatsClusterNode[];
  /** Every node's MQTT URL, comma-separated: what an agent's or the operator's --broker takes. */
  readonly url: string;
  readonly version: string;
  /** Stops every node and deletes the stores. */
  dispose(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

interface Ports {
  readonly client: number;
  readonly cluster: number;
  readonly mqtt: number;
}

/** One node's configuration: JetStream, an MQTT listener whose streams keep `replicas` copies, routes to the others. */
export function natsClusterNodeConfig(name: string, dir: string, own: Ports, all: readonly Ports[]): string {
  const replicas = Math.min(3, all.length);
  return [
    `server_name: ${JSON.stringify(name)}`,
    `listen: "127.0.0.1:${own.client}"`,
    `jetstream { store_dir: ${JSON.stringify(path.join(dir, 'jetstream'))} }`,
    `mqtt { listen: "127.0.0.1:${own.mqtt}", stream_replicas: ${replicas}, consumer_replicas: ${replicas} }`,
    'cluster {',
    '  name: "wasmfleet"',
    `  listen: "127.0.0.1:${own.cluster}"`,
    `  routes: [${all.map((p) => `"nats-route://127.0.0.1:${p.cluster}"`).join(', ')}]`,
    '}',
    '',
  ].join('\n');
}

/** True when the node completes an MQTT handshake (its JetStream account is ready for MQTT). */
async function acceptsMqtt(url: string): Promise<boolean> {
  try {
    const client = await mqtt.connectAsync(url, {
      protocolVersion: 4,
      reconnectPeriod: 0,
      connectTimeout: 2_000,
      clientId: `wasmfleet-probe-${process.pid}-${Math.random().toString(36).slice(2)}`,
    });
    await client.endAsync(true);
    return true;
  } catch {
    return false;
  }
}

/**
 * One round trip of what a fleet needs from every node: a retained QoS 1 message published on the
 * first node reaches a persistent session subscribed on each node. A node answers an MQTT
 * handshake before its JetStream streams for MQTT are settled; right after the cluster forms,
 * nodes still create them ("Creating MQTT streams/consumers" after a 5 s "lookup ... stream"
 * timeout), and a device that subscribed then was seen to be granted its desired topic and never
 * be delivered it (ADR 0048).
 */
async function retainedReachesEveryNode(urls: readonly string[]): Promise<true | undefined> {
  const topic = `wasmfleet-probe/${process.pid}/${Math.random().toString(36).slice(2)}`;
  const options = { protocolVersion: 4 as const, reconnectPeriod: 0, connectTimeout: 5_000 };
  const publisher = await mqtt.connectAsync(urls[0] ?? '', options);
  try {
    await publisher.publishAsync(topic, 'ready', { qos: 1, retain: true });
    for (const url of urls) {
      const clientId = `wasmfleet-probe-${process.pid}-${Math.random().toString(36).slice(2)}`;
      const client = await mqtt.connectAsync(url, { ...options, clientId, clean: false });
      try {
        const got = new Promise<void>((resolve) => client.once('message', () => resolve()));
        const [grant] = await client.subscribeAsync(topic, { qos: 1 });
        if (grant?.qos !== 1) return undefined;
        const timer = new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), 5_000).unref());
        if ((await Promise.race([got, timer])) === 'late') return undefined;
      } finally {
        await client.endAsync(true);
        // Drop the probe's session so it leaves no consumer behind.
        await mqtt
          .connectAsync(url, { ...options, clientId, clean: true })
          .then((c) => c.endAsync(true))
          .catch(() => undefined);
      }
    }
    return true;
  } finally {
    await publisher.publishAsync(topic, '', { qos: 1, retain: true }).catch(() => undefined);
    await publisher.endAsync(true);
  }
}

export async function startNatsCluster(size = 3): Promise<NatsCluster> {
  const binary = await ensureNatsServerBinary();
  const root = await mkdtemp(path.join(tmpdir(), 'wasmfleet-nats-cluster-'));
  const ports: Ports[] = [];
  for (let i = 0; i < size; i++)
    ports.push({ client: await freePort(), cluster: await freePort(), mqtt: await freePort() });
  const nodes = await Promise.all(
    ports.map(async (own, i) => {
      const name = `n${i + 1}`;
      const dir = path.join(root, name);
      await mkdir(dir, { recursive: true });
      const configFile = path.join(dir, 'nats-server.conf');
      await writeFile(configFile, natsClusterNodeConfig(name, dir, own, ports));
      return clusterNode(name, binary.natsServer, configFile, path.join(dir, 'nats-server.log'), own.mqtt);
    }),
  );
  const dispose = async (): Promise<void> => {
    await Promise.all(nodes.map((n) => n.kill()));
    await rm(root, { recursive: true, force: true });
  };
  try {
    await Promise.all(nodes.map((n) => n.start()));
    await waitFor(
      'every node of the NATS cluster to deliver a retained message to a persistent QoS 1 session',
      () => retainedReachesEveryNode(nodes.map((n) => n.url)),
      { timeoutMs: 120_000, intervalMs: 500 },
    );
  } catch (error) {
    await dispose();
    throw error;
  }
  return {
    nodes,
    url: nodes.map((n) => n.url).join(','),
    version: binary.version,
    dispose,
    [Symbol.asyncDispose]: dispose,
  };
}

function clusterNode(
  name: string,
  executable: string,
  configFile: string,
  logFile: string,
  mqttPort: number,
): NatsClusterNode {
  const url = `mqtt://127.0.0.1:${mqttPort}`;
  const server = restartableProcess({
    name: `nats-server ${name}`,
    command: executable,
    args: ['-c', configFile],
    logFile,
    // The MQTT listener opens before JetStream has a meta leader; a handshake proves both.
    readyWhen: `nats-server ${name} to accept MQTT sessions on ${url}`,
    ready: () => acceptsMqtt(url),
    timeoutMs: 60_000,
    intervalMs: 250,
    notStarted: (log) => `nats-server ${name} did not start; its log:\n${log.slice(-4000)}`,
  });
  return {
    name,
    url,
    mqttPort,
    get pid() {
      return server.pid;
    },
    get running() {
      return server.running;
    },
    kill: server.kill,
    start: server.start,
    log: server.log,
  };
}
