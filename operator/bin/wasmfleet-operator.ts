#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// The operator process: parse flags, connect, serve /metrics /healthz /readyz, and shut down
// gracefully on SIGTERM (what Kubernetes sends) or Ctrl-C.
import { readFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { createLogger } from '@wasmfleet/api';
import { parseOperatorArgs, USAGE, UsageError } from '../src/cli-options.ts';
import { OpsServer } from '../src/kube/index.ts';
import { startOperator } from '../src/operator.ts';

function fail(message: string, code = 2): never {
  process.stderr.write(`error: ${message}\n`);
  process.exit(code);
}

let options;
try {
  options = parseOperatorArgs(process.argv.slice(2), process.env);
} catch (error) {
  if (error instanceof UsageError) fail(error.message);
  throw error;
}
if (options === 'help') {
  process.stdout.write(USAGE);
  process.exit(0);
}

const logger = createLogger({ component: 'operator', ...options.log });
const kubeConfig = new KubeConfig();
try {
  if (options.kubeconfig) kubeConfig.loadFromFile(options.kubeconfig);
  else kubeConfig.loadFromDefault();
} catch (error) {
  fail(`cannot load the kubeconfig: ${(error as Error).message}; pass --kubeconfig`);
}
const readSecretFile = (path: string | undefined, what: string): Buffer | undefined => {
  if (!path) return undefined;
  try {
    return readFileSync(path);
  } catch (error) {
    return fail(`cannot read ${what} ${path}: ${(error as Error).message}`);
  }
};
const password = readSecretFile(options.brokerPasswordFile, '--broker-password-file')
  ?.toString('utf8')
  .trim();
const ca = readSecretFile(options.brokerCaFile, '--broker-ca-file');

const operator = startOperator({
  kubeConfig,
  broker: {
    url: options.broker,
    ...(options.brokerUsername ? { username: options.brokerUsername } : {}),
    ...(password ? { password } : {}),
    ...(ca ? { ca } : {}),
  },
  leaderElection: options.leaderElect
    ? {
        namespace: options.leaderElectionNamespace,
        leaseDurationMs: options.leaseDurationMs,
        renewDeadlineMs: options.renewDeadlineMs,
        retryPeriodMs: options.retryPeriodMs,
      }
    : false,
  scope: {
    ...(options.namespace ? { namespace: options.namespace } : {}),
    ...(options.fleet ? { fleet: options.fleet } : {}),
  },
  settings: {
    autoRegister: options.autoRegister,
    nodeStatusQps: options.nodeStatusQps,
    nodeStatusBurst: options.nodeStatusQps * 10,
  },
  workers: options.workers,
  plainHttpRegistries: options.plainHttpRegistries,
  moduleSignatures: options.moduleSignatures,
  eventAggregationWindowMs: options.eventAggregationWindowMs,
  ...(options.deviceIdentity
    ? {
        identity: {
          namespace: options.deviceIdentity.namespace,
          ...(options.deviceIdentity.deviceBrokerUrl
            ? { deviceBrokerUrl: options.deviceIdentity.deviceBrokerUrl }
            : {}),
          ...(ca ? { ca: ca.toString('utf8') } : {}),
          devicePublish: options.deviceIdentity.devicePublish,
        },
      }
    : {}),
  logger,
});

const ops = new OpsServer({
  metrics: operator.metrics,
  host: options.opsAddress.host,
  port: options.opsAddress.port,
});
ops.addHealthCheck('process', () => true);
// A healthy standby is Ready (as in controller-runtime): otherwise a 2-replica Deployment never
// becomes Available and rolling updates stall. Who leads shows in wasmfleet_leader_is_leader.
ops.addReadyCheck('operator', () => operator.isReady() || !operator.isLeader() || 'starting: syncing caches');
const { url } = await ops.listen();
logger.info(`serving /metrics, /healthz and /readyz on ${url}`);

let stopping = false;
const shutdown = async (reason: string, code: number) => {
  if (stopping) return;
  stopping = true;
  logger.info(`shutting down: ${reason}`);
  const force = setTimeout(() => process.exit(code || 1), 15_000);
  force.unref();
  await operator.stop();
  await ops.close();
  process.exit(code);
};
process.on('SIGTERM', () => void shutdown('SIGTERM', 0));
process.on('SIGINT', () => void shutdown('SIGINT', 0));
void operator.stopped.then((reason) => shutdown(reason, reason === 'stopped' ? 0 : 1));
