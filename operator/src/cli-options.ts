// SPDX-License-Identifier: Apache-2.0
// Flags and environment of the operator process, parsed and checked in one place so every bad
// value gets a message that says what to write instead.
import { parseArgs } from 'node:util';
import { brokerForLogs, brokerUrls, parseLogSettings, type LogSettings } from '@wasmfleet/api';

export interface OperatorCliOptions {
  readonly kubeconfig: string | undefined;
  readonly broker: string;
  readonly brokerUsername: string | undefined;
  readonly brokerPasswordFile: string | undefined;
  readonly brokerCaFile: string | undefined;
  readonly namespace: string | undefined;
  readonly fleet: string | undefined;
  readonly leaderElect: boolean;
  readonly leaderElectionNamespace: string;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
  readonly opsAddress: { host: string; port: number };
  readonly autoRegister: boolean;
  readonly workers: number;
  readonly plainHttpRegistries: string[];
  readonly moduleSignatures: 'Required' | 'Optional';
  readonly eventAggregationWindowMs: number;
  /** EdgeNode writes (creates and status) per second across the fleet (ADR 0023, 0038). */
  readonly nodeStatusQps: number;
  /** Manage per-device MQTT identities and ACLs (dynamic security); Secrets in this namespace. */
  readonly deviceIdentity:
    { namespace: string; deviceBrokerUrl: string | undefined; devicePublish: string[] } | undefined;
  /** --log-level, --log-format (docs/adr/0035). */
  readonly log: LogSettings;
}

export const USAGE = `wasmfleet-operator — places WasmFunctions on EdgeNodes and delivers them over MQTT

Usage: wasmfleet-operator --broker mqtt://host:1883 [options]

  --broker URL                   MQTT broker (mqtt://, mqtts://, ws://, wss://)   [$WASMFLEET_BROKER]
                                 (a cluster: its nodes comma-separated)
  --broker-username NAME         MQTT user name                                    [$WASMFLEET_BROKER_USERNAME]
  --broker-password-file PATH    file holding the MQTT password                    [$WASMFLEET_BROKER_PASSWORD_FILE]
  --broker-ca-file PATH          CA bundle for mqtts://                            [$WASMFLEET_BROKER_CA_FILE]
  --kubeconfig PATH              kubeconfig (default: in-cluster, then $KUBECONFIG, then ~/.kube/config)
  --namespace NS                 manage WasmFunctions in NS only (default: all)
  --fleet NAME                   manage only EdgeNodes labelled wasmfleet.io/fleet=NAME
  --leader-elect                 run leader election (required with more than one replica)
  --leader-election-namespace NS namespace of the Lease (default: $POD_NAMESPACE or default)
  --leader-elect-lease-duration D   how long a Lease is honoured (default 15s)
  --leader-elect-renew-deadline D   a leader that cannot renew for D steps down (default 10s)
  --leader-elect-retry-period D     time between tries (default 2s)
  --ops-bind-address HOST:PORT   /metrics, /healthz, /readyz (default 127.0.0.1:8080; 0.0.0.0:8080 in a pod)
  --no-auto-register             only serve pre-created EdgeNodes; report unknown devices
  --workers N                    concurrent reconciles per controller (default 4)
  --plain-http-registry HOST     OCI registry reached over plain HTTP (repeatable)
  --node-status-qps N            EdgeNode writes per second across the whole fleet (registrations
                                 and status), a burst of 10 × N allowed (default 100); heartbeats
                                 never cause one; a registration is two
  --event-aggregation-window D   repeats of an Event within D bump its count instead of writing a
                                 new one; the operator remembers each for D (default 10m)
  --module-signatures POLICY     Required: deliver only modules with a signature (module.signatures
                                 or a cosign signature in the registry); Optional (default).
                                 module.verify.mode overrides it per function. Devices check
                                 signatures with their own --trusted-keys either way.   [$WASMFLEET_MODULE_SIGNATURES]
  --device-identity              one MQTT identity and ACL per EdgeNode via Mosquitto's dynamic
                                 security plugin (the broker user must be its admin)  [$WASMFLEET_DEVICE_IDENTITY=true]
  --identity-namespace NS        where the per-device credential Secrets live (default: $POD_NAMESPACE or default)
  --device-broker-url URL        the broker URL devices use, written into their Secrets
  --device-publish TOPIC         a topic every device may publish besides its functions' outputs,
                                 {node} = its id, e.g. sensors/{node}/# (repeatable)
  --log-level LEVEL              debug, info (default), warn or error; debug adds a line per
                                 reconcile                                          [$WASMFLEET_LOG_LEVEL]
  --log-format FORMAT            json (one object per line: time, level, component, msg, and
                                 controller, object, reconcileID for a reconcile) or text;
                                 default: text on a terminal, json otherwise     [$WASMFLEET_LOG_FORMAT]
  -h, --help                     show this help
`;

export class UsageError extends Error {}

/** Every flag the operator takes (node:util parseArgs' table). */
const FLAGS = {
  broker: { type: 'string' },
  'broker-username': { type: 'string' },
  'broker-password-file': { type: 'string' },
  'broker-ca-file': { type: 'string' },
  kubeconfig: { type: 'string' },
  namespace: { type: 'string' },
  fleet: { type: 'string' },
  'leader-elect': { type: 'boolean', default: false },
  'leader-election-namespace': { type: 'string' },
  'leader-elect-lease-duration': { type: 'string' },
  'leader-elect-renew-deadline': { type: 'string' },
  'leader-elect-retry-period': { type: 'string' },
  'ops-bind-address': { type: 'string' },
  'no-auto-register': { type: 'boolean', default: false },
  workers: { type: 'string' },
  'plain-http-registry': { type: 'string', multiple: true },
  'module-signatures': { type: 'string' },
  'event-aggregation-window': { type: 'string' },
  'node-status-qps': { type: 'string' },
  'device-identity': { type: 'boolean', default: false },
  'identity-namespace': { type: 'string' },
  'device-broker-url': { type: 'string' },
  'device-publish': { type: 'string', multiple: true },
  'log-level': { type: 'string' },
  'log-format': { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

type FlagValues = ReturnType<typeof parseFlags>;

function parseFlags(argv: readonly string[]) {
  try {
    return parseArgs({ args: [...argv], options: FLAGS, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\nrun wasmfleet-operator --help for the flags`, {
      cause: error,
    });
  }
}

export function parseOperatorArgs(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): OperatorCliOptions | 'help' {
  const v = parseFlags(argv);
  if (v.help) return 'help';
  // In this order, so the first bad value named is the same whatever else is wrong.
  const broker = brokerOf(v, env);
  const workers = workersOf(v);
  const timings = leaderTimings(v);
  const rates = ratesOf(v);
  const moduleSignatures = moduleSignaturesOf(v, env);
  const log = logSettingsOf(v, env);
  const opsAddress = parseHostPort(
    v['ops-bind-address'] ?? env.WASMFLEET_OPS_BIND_ADDRESS ?? '127.0.0.1:8080',
  );
  return {
    kubeconfig: v.kubeconfig,
    broker,
    brokerUsername: v['broker-username'] ?? env.WASMFLEET_BROKER_USERNAME,
    brokerPasswordFile: v['broker-password-file'] ?? env.WASMFLEET_BROKER_PASSWORD_FILE,
    brokerCaFile: v['broker-ca-file'] ?? env.WASMFLEET_BROKER_CA_FILE,
    namespace: v.namespace,
    fleet: v.fleet,
    leaderElect: v['leader-elect'],
    leaderElectionNamespace: v['leader-election-namespace'] ?? env.POD_NAMESPACE ?? 'default',
    ...timings,
    opsAddress,
    autoRegister: !v['no-auto-register'],
    workers,
    plainHttpRegistries: v['plain-http-registry'] ?? [],
    moduleSignatures,
    ...rates,
    deviceIdentity:
      v['device-identity'] || env.WASMFLEET_DEVICE_IDENTITY === 'true'
        ? {
            namespace: v['identity-namespace'] ?? env.POD_NAMESPACE ?? 'default',
            deviceBrokerUrl: v['device-broker-url'] ?? env.WASMFLEET_DEVICE_BROKER_URL,
            devicePublish: v['device-publish'] ?? [],
          }
        : undefined,
    log,
  };
}

function brokerOf(v: FlagValues, env: NodeJS.ProcessEnv): string {
  const broker = v.broker ?? env.WASMFLEET_BROKER;
  if (!broker)
    throw new UsageError(
      '--broker is required (or set WASMFLEET_BROKER), e.g. --broker mqtt://127.0.0.1:1883',
    );
  let nodes: string[];
  try {
    nodes = brokerUrls(broker);
  } catch (error) {
    throw new UsageError(`--broker: ${(error as Error).message}`);
  }
  for (const url of nodes)
    if (!/^(mqtts?|wss?):\/\/[^/]+/.test(url)) {
      throw new UsageError(
        `--broker ${brokerForLogs(url)} is not an MQTT URL; write mqtt://host:1883, mqtts://host:8883 or ws://host/mqtt (a cluster's nodes comma-separated)`,
      );
    }
  return broker;
}

function leaderTimings(
  v: FlagValues,
): Pick<OperatorCliOptions, 'leaseDurationMs' | 'renewDeadlineMs' | 'retryPeriodMs'> {
  const leaseDurationMs = seconds('--leader-elect-lease-duration', v['leader-elect-lease-duration'] ?? '15s');
  const renewDeadlineMs = seconds('--leader-elect-renew-deadline', v['leader-elect-renew-deadline'] ?? '10s');
  const retryPeriodMs = seconds('--leader-elect-retry-period', v['leader-elect-retry-period'] ?? '2s');
  if (!(retryPeriodMs < renewDeadlineMs && renewDeadlineMs < leaseDurationMs)) {
    throw new UsageError(
      'leader election needs retry period < renew deadline < lease duration, e.g. 2s < 10s < 15s',
    );
  }
  return { leaseDurationMs, renewDeadlineMs, retryPeriodMs };
}

function workersOf(v: FlagValues): number {
  const workers = Number(v.workers ?? '4');
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) {
    throw new UsageError(`--workers ${v.workers ?? ''} must be a whole number from 1 to 64`);
  }
  return workers;
}

/** The Event aggregation window and the EdgeNode status write rate. */
function ratesOf(v: FlagValues): Pick<OperatorCliOptions, 'eventAggregationWindowMs' | 'nodeStatusQps'> {
  const eventAggregationWindowMs = seconds(
    '--event-aggregation-window',
    v['event-aggregation-window'] ?? '10m',
  );
  if (eventAggregationWindowMs < 1000) {
    throw new UsageError(
      `--event-aggregation-window ${v['event-aggregation-window'] ?? ''} must be at least 1s, e.g. 10m`,
    );
  }
  const nodeStatusQps = Number(v['node-status-qps'] ?? '100');
  if (!(nodeStatusQps > 0 && nodeStatusQps <= 10_000)) {
    throw new UsageError(
      `--node-status-qps ${v['node-status-qps'] ?? ''} must be a number above 0 and at most 10000, e.g. 100`,
    );
  }
  return { eventAggregationWindowMs, nodeStatusQps };
}

function logSettingsOf(v: FlagValues, env: NodeJS.ProcessEnv): LogSettings {
  try {
    return parseLogSettings(v, env);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function moduleSignaturesOf(v: FlagValues, env: NodeJS.ProcessEnv): OperatorCliOptions['moduleSignatures'] {
  const moduleSignatures = v['module-signatures'] ?? env.WASMFLEET_MODULE_SIGNATURES ?? 'Optional';
  if (moduleSignatures !== 'Required' && moduleSignatures !== 'Optional') {
    throw new UsageError(`--module-signatures ${moduleSignatures} must be Required or Optional`);
  }
  return moduleSignatures;
}

function parseHostPort(text: string): { host: string; port: number } {
  const m = /^(.*):(\d+)$/.exec(text);
  const port = Number(m?.[2]);
  if (!m || !Number.isInteger(port) || port > 65535) {
    throw new UsageError(
      `--ops-bind-address ${text} must be HOST:PORT, e.g. 0.0.0.0:8080 (port 0 picks a free one)`,
    );
  }
  return { host: m[1] || '0.0.0.0', port };
}

function seconds(flag: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(text);
  if (!m) throw new UsageError(`${flag} ${text} must be a duration like 500ms, 15s or 1m`);
  return Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 's' ? 1000 : 60_000);
}
