// SPDX-License-Identifier: Apache-2.0
// The agent's settings from flags, environment and an optional JSON config file, in that order
// of precedence. Pure apart from reading the config file and checking that the credential files
// it names can be read; every bad value gets an error that says which flag or variable to fix.
import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import {
  brokerAddresses,
  isNodeId,
  parseLogSettings,
  type LogSettings,
  type TrustedKey,
} from '@wasmfleet/api';
import type { AgentOptions } from '../node/agent.ts';
import { MAX_SENSORS, sensorNameProblem } from '../node/sensor-registry.ts';
import { loadTrustedKeys } from '../signing/trusted-keys.ts';

export const HELP = `wasmfleet-agent — runs WasmFleet functions on this device

Usage: wasmfleet-agent --broker <url> --node <id> [options]

  --broker <url>          MQTT broker, mqtt://, mqtts://, ws:// or wss://   env WASMFLEET_BROKER
                          (a cluster: its nodes comma-separated, tried in turn)
  --node <id>             this device's id (lower-case, digits, - and .)     env WASMFLEET_NODE
  --data-dir <dir>        module cache, last desired state, function state  env WASMFLEET_DATA_DIR
                          (default ./.wasmfleet/agent)
  --config <file>         JSON file with any of the settings below (camelCase keys)
  --username <name>       MQTT user name                                     env WASMFLEET_MQTT_USERNAME
  --password-file <file>  file holding the MQTT password                     env WASMFLEET_MQTT_PASSWORD_FILE
                          (or env WASMFLEET_MQTT_PASSWORD; never a flag: it would show in ps)
  --ca <file>             CA certificate to verify the broker (TLS)          env WASMFLEET_MQTT_CA
  --cert <file>           client certificate for mutual TLS                  env WASMFLEET_MQTT_CERT
  --key <file>            client key for mutual TLS                          env WASMFLEET_MQTT_KEY
  --mqtt-version <4|5>    protocol: 5 (default; falls back to 4 = 3.1.1)     env WASMFLEET_MQTT_VERSION
  --heartbeat <seconds>   status heartbeat interval (default 30)             env WASMFLEET_HEARTBEAT
  --sensors <a,b,...>     sensors this device has (others are learned)       env WASMFLEET_SENSORS
  --max-functions <n>     functions this device runs at most (default 64)    env WASMFLEET_MAX_FUNCTIONS
  --trusted-keys <paths>  comma-separated public-key files or directories  env WASMFLEET_TRUSTED_KEYS
                          of <key-id>.pub (PEM: Ed25519, ECDSA P-256, RSA);
                          modules must be signed by one of them
  --unsigned-modules <allow|refuse>                                          env WASMFLEET_UNSIGNED_MODULES
                          run modules no trusted key vouches for? (default:
                          refuse when --trusted-keys is set, allow otherwise;
                          a signature that fails to verify is always refused)
  --output-buffer <n>     outputs held while the broker is out of reach or   env WASMFLEET_OUTPUT_BUFFER
                          slow to acknowledge; beyond it new outputs are
                          dropped and counted in status (default 10000)
  --output-buffer-bytes <n>  the same bound in bytes (default 16777216)    env WASMFLEET_OUTPUT_BUFFER_BYTES
  --isolation <auto|worker>                                                  env WASMFLEET_ISOLATION
                          where core modules run: auto (default) runs one
                          on the agent's thread when its calls can be stopped
                          at their deadline (≤ 100 ms) and moves it to a
                          worker of its own after one overrun; worker gives
                          every function its own thread (~9 MB each)
  --metrics-address <a>   serve Prometheus /metrics on HOST:PORT (off by     env WASMFLEET_METRICS_ADDRESS
                          default; PORT alone binds 127.0.0.1, 0 = any free port)
  --log-level <level>     debug, info (default), warn or error               env WASMFLEET_LOG_LEVEL
  --log-format <format>   json (one object per line: time, level,           env WASMFLEET_LOG_FORMAT
                          component, msg, node) or text; default: text
                          on a terminal, json otherwise (a service, a file)
  -v, --version           print the agent's version, Node's and the CPU architecture
  -h, --help              this help

  wasmfleet-agent join …  provision this device with the command "wasmfleet nodes join" prints
`;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** What the agent process needs beyond the Agent itself. */
export interface AgentProcessOptions extends AgentOptions {
  readonly metricsAddress?: { readonly host: string; readonly port: number };
  /** --log-level, --log-format (docs/adr/0035). */
  readonly logging?: LogSettings;
}

/** Each setting's environment variable and config-file key, by its flag. */
const SETTINGS = {
  broker: ['WASMFLEET_BROKER', 'broker'],
  node: ['WASMFLEET_NODE', 'node'],
  'data-dir': ['WASMFLEET_DATA_DIR', 'dataDir'],
  username: ['WASMFLEET_MQTT_USERNAME', 'username'],
  'password-file': ['WASMFLEET_MQTT_PASSWORD_FILE', 'passwordFile'],
  ca: ['WASMFLEET_MQTT_CA', 'ca'],
  cert: ['WASMFLEET_MQTT_CERT', 'cert'],
  key: ['WASMFLEET_MQTT_KEY', 'key'],
  'mqtt-version': ['WASMFLEET_MQTT_VERSION', 'mqttVersion'],
  heartbeat: ['WASMFLEET_HEARTBEAT', 'heartbeat'],
  sensors: ['WASMFLEET_SENSORS', 'sensors'],
  'max-functions': ['WASMFLEET_MAX_FUNCTIONS', 'maxFunctions'],
  'trusted-keys': ['WASMFLEET_TRUSTED_KEYS', 'trustedKeys'],
  'unsigned-modules': ['WASMFLEET_UNSIGNED_MODULES', 'unsignedModules'],
  isolation: ['WASMFLEET_ISOLATION', 'isolation'],
  'output-buffer': ['WASMFLEET_OUTPUT_BUFFER', 'outputBuffer'],
  'output-buffer-bytes': ['WASMFLEET_OUTPUT_BUFFER_BYTES', 'outputBufferBytes'],
  'metrics-address': ['WASMFLEET_METRICS_ADDRESS', 'metricsAddress'],
  'log-level': ['WASMFLEET_LOG_LEVEL', 'logLevel'],
  'log-format': ['WASMFLEET_LOG_FORMAT', 'logFormat'],
} as const satisfies Record<string, readonly [env: string, key: string]>;

type Setting = keyof typeof SETTINGS;
type Flags = Partial<Record<Setting | 'config', string>> & { readonly help?: boolean };

const FLAG_OPTIONS: NonNullable<ParseArgsConfig['options']> = {
  ...Object.fromEntries(
    [...Object.keys(SETTINGS), 'config'].map((name) => [name, { type: 'string' as const }]),
  ),
  help: { type: 'boolean', short: 'h' },
};

function readFlags(argv: readonly string[]): Flags {
  try {
    return parseArgs({ args: [...argv], options: FLAG_OPTIONS, strict: true }).values;
  } catch (error) {
    throw new ConfigError(`${(error as Error).message}; see --help`);
  }
}

/** The config file's settings, lists joined with commas as a flag would give them. */
function readConfigFile(file: string): Partial<Record<string, string>> {
  try {
    const raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    return Object.fromEntries(
      Object.entries(raw).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : String(v)]),
    );
  } catch (error) {
    throw new ConfigError(`cannot read the config file ${file}: ${(error as Error).message}`);
  }
}

/** Settings by precedence (flag, environment, config file), checked as they are read. */
class SettingSource {
  readonly #flags: Flags;
  readonly #env: NodeJS.ProcessEnv;
  readonly #file: Partial<Record<string, string>>;

  constructor(flags: Flags, env: NodeJS.ProcessEnv) {
    this.#flags = flags;
    this.#env = env;
    this.#file = flags.config ? readConfigFile(flags.config) : {};
  }

  get(setting: Setting): string | undefined {
    const [envName, key] = SETTINGS[setting];
    return this.#flags[setting] ?? this.#env[envName] ?? this.#file[key];
  }

  /** Where a setting's value came from, as an error names it. */
  origin(setting: Setting): string {
    const [envName, key] = SETTINGS[setting];
    if (this.#flags[setting] !== undefined) return `--${setting}`;
    if (this.#env[envName] !== undefined) return envName;
    return `"${key}" in the config file ${this.#flags.config ?? ''}`;
  }

  int(setting: Setting, min: number, max: number): number | undefined {
    const value = this.get(setting);
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new ConfigError(`--${setting} ${value}: expected a whole number from ${min} to ${max}`);
    return n;
  }

  /**
   * A setting naming a credential file, checked now: a missing CA or key file is a setup mistake
   * to report at start (exit 2), not a crash on the first connection attempt.
   */
  credentialFile(setting: Setting, what: string): string | undefined {
    const value = this.get(setting);
    if (value === undefined) return undefined;
    try {
      readFileSync(value);
    } catch (error) {
      const why = unreadableBecause(error as NodeJS.ErrnoException);
      throw new ConfigError(`${this.origin(setting)} ${value}: cannot read the ${what} file (${why})`);
    }
    return value;
  }
}

function unreadableBecause(error: NodeJS.ErrnoException): string {
  if (error.code === 'ENOENT') return 'no such file';
  if (error.code === 'EACCES') return 'permission denied';
  if (error.code === 'EISDIR') return 'it is a directory';
  return error.message;
}

export function parseConfig(argv: readonly string[], env: NodeJS.ProcessEnv): AgentProcessOptions | 'help' {
  const flags = readFlags(argv);
  if (flags.help) return 'help';
  const s = new SettingSource(flags, env);
  const { brokerUrl, nodeId } = identity(s);
  const limits = sessionLimits(s);
  const metricsAddress = hostPort(s.get('metrics-address'));
  const tls = credentials(s, env);
  const signatures = signaturePolicy(s);
  const isolation = s.get('isolation');
  if (isolation !== undefined && isolation !== 'auto' && isolation !== 'worker')
    throw new ConfigError(`--isolation ${isolation}: expected auto or worker`);
  const sensors = s.get('sensors');
  return {
    brokerUrl,
    nodeId,
    ...(isolation !== undefined ? { isolation } : {}),
    ...signatures,
    dataDir: s.get('data-dir') ?? '.wasmfleet/agent',
    ...tls,
    ...limits,
    ...(metricsAddress ? { metricsAddress } : {}),
    ...(sensors ? { sensors: sensorList(sensors) } : {}),
    logging: logSettings(flags, s),
  };
}

/** --log-level and --log-format, else their variables, else the config file's logLevel, logFormat. */
function logSettings(flags: Flags, s: SettingSource): LogSettings {
  const resolved = { WASMFLEET_LOG_LEVEL: s.get('log-level'), WASMFLEET_LOG_FORMAT: s.get('log-format') };
  try {
    return parseLogSettings({ 'log-level': flags['log-level'], 'log-format': flags['log-format'] }, resolved);
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
}

/** The broker and node id, both required; the broker URL as the session will connect with it. */
function identity(s: SettingSource): { brokerUrl: string; nodeId: string } {
  const brokerUrl = s.get('broker');
  const nodeId = s.get('node');
  if (!brokerUrl) throw new ConfigError('no broker: pass --broker mqtt://host:1883 or set WASMFLEET_BROKER');
  // brokerAddresses is what the session connects with: a URL it refuses is refused here, at start.
  try {
    brokerAddresses(brokerUrl);
  } catch (error) {
    throw new ConfigError(`--broker: ${(error as Error).message}`);
  }
  if (!nodeId) throw new ConfigError('no node id: pass --node <id> or set WASMFLEET_NODE');
  if (!isNodeId(nodeId))
    throw new ConfigError(`--node ${nodeId}: use lower-case letters, digits, '-' and '.' (e.g. pump-7)`);
  return { brokerUrl, nodeId };
}

function sessionLimits(s: SettingSource): Partial<AgentProcessOptions> {
  const version = s.int('mqtt-version', 4, 5);
  const heartbeat = s.int('heartbeat', 1, 3600);
  const maxFunctions = s.int('max-functions', 1, 256);
  const outputBuffer = s.int('output-buffer', 1, 10_000_000);
  const outputBufferBytes = s.int('output-buffer-bytes', 1024, Number.MAX_SAFE_INTEGER);
  return {
    ...(version === 4 || version === 5 ? { protocolVersion: version } : {}),
    ...(heartbeat !== undefined ? { heartbeatSeconds: heartbeat } : {}),
    ...(maxFunctions !== undefined ? { maxFunctions } : {}),
    ...(outputBuffer !== undefined ? { maxBufferedOutputs: outputBuffer } : {}),
    ...(outputBufferBytes !== undefined ? { maxBufferedOutputBytes: outputBufferBytes } : {}),
  };
}

/** The MQTT user and the files of its password and TLS credentials (each checked readable). */
function credentials(s: SettingSource, env: NodeJS.ProcessEnv): Record<string, string> {
  const optional = (key: string, value: string | undefined): Record<string, string> =>
    value === undefined ? {} : { [key]: value };
  const passwordFile = s.credentialFile('password-file', 'MQTT password');
  const caFile = s.credentialFile('ca', 'CA certificate');
  const certFile = s.credentialFile('cert', 'client certificate');
  const keyFile = s.credentialFile('key', 'client key');
  if ((certFile === undefined) !== (keyFile === undefined))
    throw new ConfigError(
      'mutual TLS needs both a client certificate and its key: pass --cert <file> and --key <file> ' +
        '(or set WASMFLEET_MQTT_CERT and WASMFLEET_MQTT_KEY)',
    );
  return {
    ...optional('username', s.get('username')),
    ...optional('passwordFile', passwordFile),
    ...optional('password', env.WASMFLEET_MQTT_PASSWORD),
    ...optional('caFile', caFile),
    ...optional('certFile', certFile),
    ...optional('keyFile', keyFile),
  };
}

/** The keys module signatures are checked against, and whether unsigned modules run (ADR 0011). */
function signaturePolicy(s: SettingSource): Pick<AgentOptions, 'trustedKeys' | 'allowUnsigned'> {
  const trustedKeys = trustedKeysOf(s.get('trusted-keys'));
  const unsigned = s.get('unsigned-modules');
  if (unsigned !== undefined && unsigned !== 'allow' && unsigned !== 'refuse')
    throw new ConfigError(`--unsigned-modules ${unsigned}: expected allow or refuse`);
  if (unsigned === 'refuse' && trustedKeys.length === 0)
    throw new ConfigError(
      '--unsigned-modules refuse needs --trusted-keys: with no trusted key every module would be refused',
    );
  return {
    ...(trustedKeys.length > 0 ? { trustedKeys } : {}),
    ...(unsigned !== undefined ? { allowUnsigned: unsigned === 'allow' } : {}),
  };
}

function trustedKeysOf(trustedKeyPaths: string | undefined): readonly TrustedKey[] {
  if (trustedKeyPaths === undefined) return [];
  const paths = trustedKeyPaths
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  let trustedKeys: readonly TrustedKey[];
  try {
    trustedKeys = loadTrustedKeys(paths);
  } catch (error) {
    throw new ConfigError(`--trusted-keys ${trustedKeyPaths}: ${(error as Error).message}`);
  }
  if (trustedKeys.length === 0)
    throw new ConfigError(
      `--trusted-keys ${trustedKeyPaths}: no <key-id>.pub file found; a device that names no key cannot verify any signature`,
    );
  return trustedKeys;
}

/** "9464", "127.0.0.1:9464", "[::1]:9464" or "0.0.0.0:9464"; a bare port binds 127.0.0.1. */
function hostPort(value: string | undefined): { host: string; port: number } | undefined {
  if (value === undefined) return undefined;
  const m = /^(?:(\[[0-9a-fA-F:]+\]|[^:[\]]+):)?(\d+)$/.exec(value.trim());
  const port = Number(m?.[2]);
  if (!m || !Number.isInteger(port) || port > 65535)
    throw new ConfigError(
      `--metrics-address ${value}: expected HOST:PORT or PORT, e.g. 127.0.0.1:9464 (0 picks a free port)`,
    );
  return { host: (m[1] ?? '127.0.0.1').replace(/^\[|\]$/g, ''), port };
}

/** The configured sensor names, refused when the status document could not carry them. */
function sensorList(value: string): string[] {
  const names = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (names.length > MAX_SENSORS)
    throw new ConfigError(`--sensors: ${names.length} sensors; a device reports at most ${MAX_SENSORS}`);
  for (const name of names) {
    const problem = sensorNameProblem(name);
    if (problem) throw new ConfigError(`--sensors: ${problem}`);
  }
  return names;
}
