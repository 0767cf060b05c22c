// SPDX-License-Identifier: Apache-2.0
// A real Mosquitto 2 broker on a free loopback port, with persistence, for tests and benchmarks.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { restartableProcess, type TestBroker } from './restartable-process.ts';
import { canConnect, freePort } from './util.ts';

const run = promisify(execFile);

/** Mosquitto: stop() lets it save its persistence database first; kill() saves nothing beyond the last autosave. */
export interface Mosquitto extends TestBroker {
  /** `mqtt://127.0.0.1:<port>` (with `plaintext: false`, the TLS port: what a non-TLS client tries). */
  readonly url: string;
  readonly port: number;
  /** `mqtts://127.0.0.1:<tlsPort>` when started with `tls`, else undefined. */
  readonly tlsUrl: string | undefined;
  /** The TLS listener's port when started with `tls`, else undefined. */
  readonly tlsPort: number | undefined;
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
  /**
   * Loads Mosquitto's dynamic security plugin (this machine's build) with a fresh configuration
   * made by `mosquitto_ctrl dynsec init` (as the chart's init container does): one admin client
   * that may send `$CONTROL/dynamic-security/v1` commands; or with an existing `configFile`.
   * Anonymous clients are refused.
   */
  readonly dynamicSecurity?:
    { readonly adminUsername: string; readonly adminPassword: string } | { readonly configFile: string };
  /**
   * false: no plain-text listener, only the TLS one (needs `tls`). `url` then names the TLS
   * port with `mqtt://`, i.e. what a client that does not speak TLS would try.
   */
  readonly plaintext?: boolean;
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
const MOSQUITTO_CTRL_BIN = process.env.WASMFLEET_MOSQUITTO_CTRL ?? 'mosquitto_ctrl';
/** Where Debian (multiarch) and the upstream build put the plugin. */
const DYNSEC_PLUGIN_CANDIDATES = [
  process.env.WASMFLEET_MOSQUITTO_DYNSEC_PLUGIN,
  `/usr/lib/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu/mosquitto_dynamic_security.so`,
  '/usr/lib/mosquitto_dynamic_security.so',
  '/usr/local/lib/mosquitto_dynamic_security.so',
];

async function dynamicSecurityLines(
  dataDir: string,
  settings: NonNullable<MosquittoOptions['dynamicSecurity']>,
): Promise<string[]> {
  const plugin = DYNSEC_PLUGIN_CANDIDATES.find((p) => p !== undefined && existsSync(p));
  if (plugin === undefined) {
    throw new Error(
      `Mosquitto's dynamic security plugin is not installed (looked in ${DYNSEC_PLUGIN_CANDIDATES.filter(Boolean).join(', ')}); install the Debian package mosquitto or set WASMFLEET_MOSQUITTO_DYNSEC_PLUGIN`,
    );
  }
  if ('configFile' in settings) return [`plugin ${plugin}`, `plugin_opt_config_file ${settings.configFile}`];
  const file = path.join(dataDir, 'dynamic-security.json');
  try {
    // The password on stdin (asked twice), as the chart's init container gives it: never argv.
    const init = run(MOSQUITTO_CTRL_BIN, ['dynsec', 'init', file, settings.adminUsername]);
    init.child.stdin?.end(`${settings.adminPassword}\n${settings.adminPassword}\n`);
    await init;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(
      `mosquitto_ctrl dynsec init failed (is the Debian package mosquitto installed?)\n${stderr}`,
      {
        cause: error,
      },
    );
  }
  return [`plugin ${plugin}`, `plugin_opt_config_file ${file}`];
}

/** mosquitto.conf for the listeners and options a test asked for. */
function mosquittoConfig(
  options: MosquittoOptions,
  at: {
    readonly port: number;
    readonly tlsPort: number | undefined;
    readonly plaintext: boolean;
    readonly dataDir: string;
    readonly dynsec: readonly string[];
  },
): string {
  const { port, tlsPort, plaintext, dataDir, dynsec } = at;
  const tls = options.tls;
  const extra = options.extraConfig ?? [];
  const anonymous = options.passwordFile === undefined && options.dynamicSecurity === undefined;
  // A caller's own allow_anonymous (e.g. a rendered chart config) replaces the default.
  const ownAnonymous = extra.some((line) => /^\s*allow_anonymous\b/.test(line));
  return [
    // Global settings first (per_listener_settings false): the plugin applies to every listener.
    ...(plaintext ? [`listener ${port} 127.0.0.1`] : []),
    // Started as root, mosquitto would drop to user 'mosquitto' and could not write dataDir.
    `user ${userInfo().username}`,
    ...(ownAnonymous ? [] : [`allow_anonymous ${anonymous ? 'true' : 'false'}`]),
    ...dynsec,
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
    ...extra,
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
  ].join('\n');
}

export async function startMosquitto(options: MosquittoOptions = {}): Promise<Mosquitto> {
  const port = options.port ?? (await freePort());
  const tls = options.tls;
  const tlsPort = tls ? (tls.port ?? (await freePort())) : undefined;
  const plaintext = options.plaintext ?? true;
  if (!plaintext && tlsPort === undefined) {
    throw new Error('startMosquitto: plaintext: false needs tls (the broker would have no listener)');
  }
  const dataDir = await mkdtemp(path.join(tmpdir(), 'wasmfleet-mosquitto-'));
  const dynsec = options.dynamicSecurity ? await dynamicSecurityLines(dataDir, options.dynamicSecurity) : [];
  const configFile = path.join(dataDir, 'mosquitto.conf');
  const logFile = path.join(dataDir, 'mosquitto.log');
  await writeFile(configFile, mosquittoConfig(options, { port, tlsPort, plaintext, dataDir, dynsec }));

  const broker = restartableProcess({
    name: 'mosquitto',
    command: MOSQUITTO_BIN,
    args: ['-c', configFile],
    logFile,
    readyWhen: `mosquitto to accept connections on 127.0.0.1:${port}`,
    ready: async () =>
      (!plaintext || (await canConnect(port))) && (tlsPort === undefined || (await canConnect(tlsPort))),
    timeoutMs: 10_000,
    intervalMs: 20,
    notStarted: (log) => `mosquitto did not start on port ${port}; its log:\n${log}`,
  });
  const dispose = async (): Promise<void> => {
    await broker.stop();
    await rm(dataDir, { recursive: true, force: true });
  };

  await broker.start();
  return {
    url: `mqtt://127.0.0.1:${plaintext ? port : (tlsPort ?? port)}`,
    port: plaintext ? port : (tlsPort ?? port),
    tlsUrl: tlsPort === undefined ? undefined : `mqtts://127.0.0.1:${tlsPort}`,
    tlsPort,
    dataDir,
    get pid() {
      return broker.pid;
    },
    stop: broker.stop,
    kill: broker.kill,
    start: broker.start,
    restart: broker.restart,
    dispose,
    log: broker.log,
    [Symbol.asyncDispose]: dispose,
  };
}
