// SPDX-License-Identifier: Apache-2.0
// A real nats-server with its MQTT 3.1.1 listener (sessions and retained messages live in
// JetStream) on free loopback ports, for tests that must hold on more than one broker. One node;
// the configuration is built by natsServerConfig so a cluster can reuse it node by node.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ensureNatsServerBinary } from './nats-binary.ts';
import { restartableProcess, type TestBroker } from './restartable-process.ts';
import { canConnect, freePort } from './util.ts';

export interface NatsServer extends TestBroker {
  /** `mqtt://127.0.0.1:<mqttPort>`: what MQTT clients connect to. */
  readonly url: string;
  readonly mqttPort: number;
  /** `nats://127.0.0.1:<port>`: the server's own protocol. */
  readonly natsUrl: string;
  readonly port: number;
  /** The nats-server module version it runs. */
  readonly version: string;
}

export interface NatsServerOptions {
  /** Default: a free port each. */
  readonly port?: number;
  readonly mqttPort?: number;
  /** Extra lines appended to the generated configuration. */
  readonly extraConfig?: readonly string[];
}

export interface NatsServerConfig {
  readonly serverName: string;
  readonly port: number;
  readonly mqttPort: number;
  /** JetStream's store directory (MQTT sessions, retained messages, QoS 1 queues). */
  readonly storeDir: string;
  readonly extraConfig?: readonly string[];
}

/** The nats-server configuration of one node with JetStream and an MQTT listener on loopback. */
export function natsServerConfig(c: NatsServerConfig): string {
  return [
    `server_name: ${JSON.stringify(c.serverName)}`,
    `listen: "127.0.0.1:${c.port}"`,
    `jetstream { store_dir: ${JSON.stringify(c.storeDir)} }`,
    // MQTT needs a server name and JetStream; the listener is plain TCP on loopback.
    `mqtt { listen: "127.0.0.1:${c.mqttPort}" }`,
    ...(c.extraConfig ?? []),
    '',
  ].join('\n');
}

export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  const binary = await ensureNatsServerBinary();
  const port = options.port ?? (await freePort());
  const mqttPort = options.mqttPort ?? (await freePort());
  const dataDir = await mkdtemp(path.join(tmpdir(), 'wasmfleet-nats-'));
  const configFile = path.join(dataDir, 'nats-server.conf');
  const logFile = path.join(dataDir, 'nats-server.log');
  await writeFile(
    configFile,
    natsServerConfig({
      serverName: `wasmfleet-${path.basename(dataDir)}`,
      port,
      mqttPort,
      storeDir: path.join(dataDir, 'jetstream'),
      ...(options.extraConfig ? { extraConfig: options.extraConfig } : {}),
    }),
  );

  const server = restartableProcess({
    name: 'nats-server',
    command: binary.natsServer,
    args: ['-c', configFile],
    logFile,
    readyWhen: `nats-server to accept MQTT connections on 127.0.0.1:${mqttPort}`,
    ready: () => canConnect(mqttPort),
    timeoutMs: 20_000,
    intervalMs: 50,
    notStarted: (log) => `nats-server did not start (MQTT port ${mqttPort}); its log:\n${log.slice(-4000)}`,
  });
  const dispose = async (): Promise<void> => {
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  };

  await server.start();
  return {
    url: `mqtt://127.0.0.1:${mqttPort}`,
    mqttPort,
    natsUrl: `nats://127.0.0.1:${port}`,
    port,
    dataDir,
    version: binary.version,
    get pid() {
      return server.pid;
    },
    stop: server.stop,
    kill: server.kill,
    start: server.start,
    restart: server.restart,
    dispose,
    log: server.log,
    [Symbol.asyncDispose]: dispose,
  };
}
