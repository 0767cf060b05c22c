// A real Mosquitto 2 broker on a free loopback port, with persistence, for tests and benchmarks.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { spawnManaged, type ManagedProcess } from './processes.ts';
import { freePort, waitFor } from './util.ts';

export interface Mosquitto {
  /** `mqtt://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** `mqtts://127.0.0.1:<tlsPort>` when started with `tls`, else undefined. */
  readonly tlsUrl: string | undefined;
  /** The TLS listener's port when started with `tls`, else undefined. */
  readonly tlsPort: number | undefined;
  /** Holds mosquitto.conf, the persistence database and mosquitto.log. */
  readonly dataDir: string;
  readonly pid: number | undefined;
  /** Graceful stop (SIGTERM): the broker saves its persistence database first. */
  stop(): Promise<void>;
  /** SIGKILL: nothing is saved beyond the last autosave. */
  kill(): Promise<void>;
  /** Starts the broker again on the same port with the same data. */
  start(): Promise<void>;
  restart(): Promise<void>;
  /** Stops the broker and deletes its data directory. */
  dispose(): Promise<void>;
  log(): Promise<string>;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface MosquittoOptions {
  readonly port?: number;
  /** Extra lines appended to the generated mosquitto.conf. */
  readonly extraConfig?: readonly string[];
  /** Seconds between persistence autosaves (default 1, so SIGKILL tests lose little). */
  readonly autosaveIntervalSeconds?: number;
  /**
   * Replaces the test tuning (autosave every second, a million queued messages per client,
   * unlimited in-flight) with these lines — e.g. a chart's rendered settings, to measure what a
   * deployed broker does. Anything left out takes Mosquitto's own default.
   */
  readonly tuning?: readonly string[];
  /**
   * Adds a second listener on 127.0.0.1 that speaks TLS (see `tlsUrl`); the plain one stays.
   * With `requireCertificate`, clients must present a certificate signed by `caFile` (mutual
   * TLS), and its CN becomes their user name.
   */
  readonly tls?: MosquittoTlsOptions;
  /** A Mosquitto password file (see writeMosquittoPasswordFile); anonymous clients are refused. */
  readonly passwordFile?: string;
}

export interface MosquittoTlsOptions {
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly requireCertificate?: boolean;
  /** Default: a free port. */
  readonly port?: number;
}

const MOSQUITTO_BIN = process.env.WASMFLEET_MOSQUITTO ?? '/usr/sbin/mosquitto';

export async function startMosquitto(options: MosquittoOptions = {}): Promise<Mosquitto> {
  const port = options.port ?? (await freePort());
  const tls = options.tls;
  const tlsPort = tls ? (tls.port ?? (await freePort())) : undefined;
  const dataDir = await mkdtemp(path.join(tmpdir(), 'wasmfleet-mosquitto-'));
  const configFile = path.join(dataDir, 'mosquitto.conf');
  const logFile = path.join(dataDir, 'mosquitto.log');
  await writeFile(
    configFile,
    [
      `listener ${port} 127.0.0.1`,
      // Started as root, mosquitto would drop to user 'mosquitto' and could not write dataDir.
      `user ${userInfo().username}`,
      `allow_anonymous ${options.passwordFile === undefined ? 'true' : 'false'}`,
      ...(options.passwordFile === undefined ? [] : [`password_file ${options.passwordFile}`]),
      'persistence true',
      `persistence_location ${dataDir}/`,
      ...(options.tuning ?? [
        `autosave_interval ${options.autosaveIntervalSeconds ?? 1}`,
        // Generous queues: tests count every message, and the defaults (1000 queued) would drop.
        'max_queued_messages 1000000',
        'max_inflight_messages 0',
      ]),
      'set_tcp_nodelay true',
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      'log_type notice',
      'log_timestamp_format %Y-%m-%dT%H:%M:%S',
      ...(options.extraConfig ?? []),
      // Last, so listener-scoped lines above (from extraConfig) keep applying to what they did.
      ...(tls && tlsPort !== undefined
        ? [
            `listener ${tlsPort} 127.0.0.1`,
            `cafile ${tls.caFile}`,
            `certfile ${tls.certFile}`,
            `keyfile ${tls.keyFile}`,
            ...(tls.requireCertificate ? ['require_certificate true', 'use_identity_as_username true'] : []),
          ]
        : []),
      '',
    ].join('\n'),
  );

  let proc: ManagedProcess | undefined;

  const start = async (): Promise<void> => {
    if (proc && proc.child.exitCode === null && proc.child.signalCode === null) return;
    const started = spawnManaged('mosquitto', MOSQUITTO_BIN, { args: ['-c', configFile], logFile });
    proc = started;
    try {
      await waitFor(
        `mosquitto to accept connections on 127.0.0.1:${port}`,
        async () => {
          if (started.child.exitCode !== null) {
            throw new Error(`mosquitto exited with code ${started.child.exitCode}`);
          }
          if (!(await canConnect(port))) return undefined;
          return tlsPort === undefined || (await canConnect(tlsPort)) ? true : undefined;
        },
        { timeoutMs: 10_000, intervalMs: 20 },
      );
    } catch (error) {
      await started.kill();
      const log = await readFile(logFile, 'utf8').catch(() => '');
      throw new Error(`mosquitto did not start on port ${port}; its log:\n${log}`, { cause: error });
    }
  };

  const stop = async (): Promise<void> => {
    await proc?.stop();
  };
  const kill = async (): Promise<void> => {
    await proc?.kill();
  };
  const dispose = async (): Promise<void> => {
    await stop();
    await rm(dataDir, { recursive: true, force: true });
  };

  await start();
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    tlsUrl: tlsPort === undefined ? undefined : `mqtts://127.0.0.1:${tlsPort}`,
    tlsPort,
    dataDir,
    get pid() {
      return proc?.pid;
    },
    stop,
    kill,
    start,
    restart: async () => {
      await stop();
      await start();
    },
    dispose,
    log: () => readFile(logFile, 'utf8'),
    [Symbol.asyncDispose]: dispose,
  };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
