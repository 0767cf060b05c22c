// SPDX-License-Identifier: Apache-2.0
// The agent's settings from flags, environment and an optional JSON config file, in that order
// of precedence. Pure apart from reading the config file and checking that the credential files
// it names can be read; every bad value gets an error that says which flag or variable to fix.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { isNodeId, parseLogSettings, type LogSettings } from '@wasmfleet/api';
import { brokerAddresses } from '../mqtt/session-options.ts';
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

type Settings = Partial<Record<string, string>>;

/** What the agent process needs beyond the Agent itself. */
export interface AgentProcessOptions extends AgentOptions {
  readonly metricsAddress?: { readonly host: string; readonly port: number };
  /** --log-level, --log-format (docs/adr/0035). */
  readonly logging?: LogSettings;
}

export function parseConfig(argv: readonly string[], env: NodeJS.ProcessEnv): AgentProcessOptions | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        broker: { type: 'string' },
        node: { type: 'string' },
        'data-dir': { type: 'string' },
        config: { type: 'string' },
        username: { type: 'string' },
        'password-file': { type: 'string' },
        ca: { type: 'string' },
        cert: { type: 'string' },
        key: { type: 'string' },
        'mqtt-version': { type: 'string' },
        heartbeat: { type: 'string' },
        sensors: { type: 'string' },
        'max-functions': { type: 'string' },
        'trusted-keys': { type: 'string' },
        'unsigned-modules': { type: 'string' },
        isolation: { type: 'string' },
        'output-buffer': { type: 'string' },
        'output-buffer-bytes': { type: 'string' },
        'metrics-address': { type: 'string' },
        'log-level': { type: 'string' },
        'log-format': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    });
  } catch (error) {
    throw new ConfigError(`${(error as Error).message}; see --help`);
  }
  const flags = parsed.values;
  if (flags.help) return 'help';
  let file: Settings = {};
  if (flags.config) {
    try {
      const raw = JSON.parse(readFileSync(flags.config, 'utf8')) as Record<string, unknown>;
      file = Object.fromEntries(
        Object.entries(raw).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : String(v)]),
      );
    } catch (error) {
      throw new ConfigError(`cannot read the config file ${flags.config}: ${(error as Error).message}`);
    }
  }
  const pick = (flag: string | undefined, envName: string, key: string): string | undefined =>
    flag ?? env[envName] ?? file[key];
  /**
   * A setting naming a credential file, checked now: a missing CA or key file is a setup mistake
   * to report at start (exit 2), not a crash on the first connection attempt.
   */
  const credentialFile = (
    flag: string | undefined,
    flagName: string,
    envName: string,
    key: string,
    what: string,
  ): string | undefined => {
    const value = pick(flag, envName, key);
    if (value === undefined) return undefined;
    const source =
      flag !== undefined
        ? flagName
        : env[envName] !== undefined
          ? envName
          : `"${key}" in the config file ${flags.config ?? ''}`;
    try {
      readFileSync(value);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const why =
        code === 'ENOENT'
          ? 'no such file'
          : code === 'EACCES'
            ? 'permission denied'
            : code === 'EISDIR'
              ? 'it is a directory'
              : (error as Error).message;
      throw new ConfigError(`${source} ${value}: cannot read the ${what} file (${why})`);
    }
    return value;
  };
  const brokerUrl = pick(flags.broker, 'WASMFLEET_BROKER', 'broker');
  const nodeId = pick(flags.node, 'WASMFLEET_NODE', 'node');
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
  const int = (value: string | undefined, what: string, min: number, max: number): number | undefined => {
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new ConfigError(`${what} ${value}: expected a whole number from ${min} to ${max}`);
    return n;
  };
  const version = int(
    pick(flags['mqtt-version'], 'WASMFLEET_MQTT_VERSION', 'mqttVersion'),
    '--mqtt-version',
    4,
    5,
  );
  const heartbeat = int(pick(flags.heartbeat, 'WASMFLEET_HEARTBEAT', 'heartbeat'), '--heartbeat', 1, 3600);
  const maxFunctions = int(
    pick(flags['max-functions'], 'WASMFLEET_MAX_FUNCTIONS', 'maxFunctions'),
    '--max-functions',
    1,
    256,
  );
  const outputBuffer = int(
    pick(flags['output-buffer'], 'WASMFLEET_OUTPUT_BUFFER', 'outputBuffer'),
    '--output-buffer',
    1,
    10_000_000,
  );
  const outputBufferBytes = int(
    pick(flags['output-buffer-bytes'], 'WASMFLEET_OUTPUT_BUFFER_BYTES', 'outputBufferBytes'),
    '--output-buffer-bytes',
    1024,
    Number.MAX_SAFE_INTEGER,
  );
  const metricsAddress = hostPort(
    pick(flags['metrics-address'], 'WASMFLEET_METRICS_ADDRESS', 'metricsAddress'),
  );
  const optional = (key: string, value: string | undefined): Record<string, string> =>
    value === undefined ? {} : { [key]: value };
  const sensors = pick(flags.sensors, 'WASMFLEET_SENSORS', 'sensors');
  const passwordFile = credentialFile(
    flags['password-file'],
    '--password-file',
    'WASMFLEET_MQTT_PASSWORD_FILE',
    'passwordFile',
    'MQTT password',
  );
  const caFile = credentialFile(flags.ca, '--ca', 'WASMFLEET_MQTT_CA', 'ca', 'CA certificate');
  const certFile = credentialFile(flags.cert, '--cert', 'WASMFLEET_MQTT_CERT', 'cert', 'client certificate');
  const keyFile = credentialFile(flags.key, '--key', 'WASMFLEET_MQTT_KEY', 'key', 'client key');
  if ((certFile === undefined) !== (keyFile === undefined))
    throw new ConfigError(
      'mutual TLS needs both a client certificate and its key: pass --cert <file> and --key <file> ' +
        '(or set WASMFLEET_MQTT_CERT and WASMFLEET_MQTT_KEY)',
    );
  const trustedKeyPaths = pick(flags['trusted-keys'], 'WASMFLEET_TRUSTED_KEYS', 'trustedKeys');
  let trustedKeys: AgentOptions['trustedKeys'] = [];
  if (trustedKeyPaths !== undefined) {
    const paths = trustedKeyPaths
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    try {
      trustedKeys = loadTrustedKeys(paths);
    } catch (error) {
      throw new ConfigError(`--trusted-keys ${trustedKeyPaths}: ${(error as Error).message}`);
    }
    if (trustedKeys.length === 0)
      throw new ConfigError(
        `--trusted-keys ${trustedKeyPaths}: no <key-id>.pub file found; a device that names no key cannot verify any signature`,
      );
  }
  const unsigned = pick(flags['unsigned-modules'], 'WASMFLEET_UNSIGNED_MODULES', 'unsignedModules');
  if (unsigned !== undefined && unsigned !== 'allow' && unsigned !== 'refuse')
    throw new ConfigError(`--unsigned-modules ${unsigned}: expected allow or refuse`);
  if (unsigned === 'refuse' && trustedKeys.length === 0)
    throw new ConfigError(
      '--unsigned-modules refuse needs --trusted-keys: with no trusted key every module would be refused',
    );
  const isolation = pick(flags.isolation, 'WASMFLEET_ISOLATION', 'isolation');
  if (isolation !== undefined && isolation !== 'auto' && isolation !== 'worker')
    throw new ConfigError(`--isolation ${isolation}: expected auto or worker`);
  return {
    brokerUrl,
    nodeId,
    ...(isolation !== undefined ? { isolation } : {}),
    ...(trustedKeys.length > 0 ? { trustedKeys } : {}),
    ...(unsigned !== undefined ? { allowUnsigned: unsigned === 'allow' } : {}),
    dataDir: pick(flags['data-dir'], 'WASMFLEET_DATA_DIR', 'dataDir') ?? '.wasmfleet/agent',
    ...optional('username', pick(flags.username, 'WASMFLEET_MQTT_USERNAME', 'username')),
    ...optional('passwordFile', passwordFile),
    ...optional('password', env.WASMFLEET_MQTT_PASSWORD),
    ...optional('caFile', caFile),
    ...optional('certFile', certFile),
    ...optional('keyFile', keyFile),
    ...(version === 4 || version === 5 ? { protocolVersion: version } : {}),
    ...(heartbeat !== undefined ? { heartbeatSeconds: heartbeat } : {}),
    ...(maxFunctions !== undefined ? { maxFunctions } : {}),
    ...(outputBuffer !== undefined ? { maxBufferedOutputs: outputBuffer } : {}),
    ...(outputBufferBytes !== undefined ? { maxBufferedOutputBytes: outputBufferBytes } : {}),
    ...(metricsAddress ? { metricsAddress } : {}),
    ...(sensors ? { sensors: sensorList(sensors) } : {}),
    logging: logSettings(flags, env, file),
  };
}

/** --log-level and --log-format, else their variables, else the config file's logLevel, logFormat. */
function logSettings(
  flags: { readonly 'log-level'?: string | undefined; readonly 'log-format'?: string | undefined },
  env: NodeJS.ProcessEnv,
  file: Settings,
): LogSettings {
  const fromFile = {
    ...(file.logLevel === undefined ? {} : { WASMFLEET_LOG_LEVEL: file.logLevel }),
    ...(file.logFormat === undefined ? {} : { WASMFLEET_LOG_FORMAT: file.logFormat }),
  };
  try {
    return parseLogSettings(flags, { ...fromFile, ...env });
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
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
