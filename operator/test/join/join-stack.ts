// SPDX-License-Identifier: Apache-2.0
// What the join tests stand on: the real API server, a Mosquitto with TLS and dynamic security,
// and the real operator with per-device identity scoped to a fresh namespace and fleet label; plus
// the fleet operator's side of join, `wasmfleet nodes join` run as the real CLI, and a reader of
// EdgeNodes. One place, so the tests differ only in where the device runs.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { GROUP, VERSION, type EdgeNode } from '@wasmfleet/api';
import {
  generateTestCertificates,
  sharedControlPlane,
  startMosquitto,
  uniqueName,
  type ControlPlane,
  type Mosquitto,
} from '@wasmfleet/test-support';
import { startOperator } from '../../src/operator.ts';

const CLI_BIN = fileURLToPath(new URL('../../../cli/bin/wasmfleet.ts', import.meta.url));
const ADMIN = 'wasmfleet-operator';
const ADMIN_PASSWORD = 'operator-test-password';

export interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a Node program (a .ts/.js file and its arguments) with NO_COLOR, never throwing. */
export function runNode(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return runProgram(process.execPath, args, env);
}

/** Runs a program with NO_COLOR, never throwing. */
export function runProgram(file: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { env: { ...process.env, NO_COLOR: '1', ...env } }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

export interface JoinStack {
  readonly broker: Mosquitto;
  readonly plane: ControlPlane;
  /** The operator's namespace (where join tokens live). */
  readonly namespace: string;
  /** A directory for logs and device files, removed with the stack. */
  readonly scratch: string;
  /** `wasmfleet nodes join <node> -n <ns> --labels <fleet>,site=plant-9 …extra`. */
  nodesJoin(node: string, ...extra: string[]): Promise<Run>;
  edgeNode(name: string): Promise<EdgeNode>;
  dispose(): Promise<void>;
}

export async function startJoinStack(prefix: string): Promise<JoinStack> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const dispose = async (): Promise<void> => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  };
  try {
    const certs = await generateTestCertificates();
    cleanups.push(() => certs.dispose());
    const broker = await startMosquitto({
      dynamicSecurity: { adminUsername: ADMIN, adminPassword: ADMIN_PASSWORD },
      tls: { caFile: certs.caFile, certFile: certs.serverCertFile, keyFile: certs.serverKeyFile },
      plaintext: false,
    });
    cleanups.push(() => broker.dispose());
    const plane = await sharedControlPlane();
    const namespace = uniqueName(prefix);
    const fleet = uniqueName('fleet');
    const scratch = await mkdtemp(path.join(tmpdir(), `${prefix}-`));
    cleanups.push(() => rm(scratch, { recursive: true, force: true }));
    const created = await plane.kubectl(['create', 'namespace', namespace]);
    if (created.code !== 0) throw new Error(`could not create namespace ${namespace}: ${created.stderr}`);
    const kc = new KubeConfig();
    kc.loadFromFile(plane.kubeconfigPath);
    const ca = readFileSync(certs.caFile);
    const operator = startOperator({
      kubeConfig: kc,
      broker: { url: broker.tlsUrl ?? '', username: ADMIN, password: ADMIN_PASSWORD, ca, syncQuietMs: 100 },
      identity: { namespace, deviceBrokerUrl: broker.tlsUrl ?? '', ca: ca.toString('utf8') },
      leaderElection: false,
      scope: { namespace, fleet },
      log: (line) => void appendFile(path.join(scratch, 'operator.log'), `${line}\n`),
    });
    cleanups.push(() => operator.stop());
    await operator.ready;
    const objects = kc.makeApiClient(CustomObjectsApi);
    return {
      broker,
      plane,
      namespace,
      scratch,
      nodesJoin: (node, ...extra) =>
        runNode([
          CLI_BIN,
          ...['nodes', 'join', node, '-n', namespace, '--kubeconfig', plane.kubeconfigPath],
          ...['--labels', `wasmfleet.io/fleet=${fleet},site=plant-9`, ...extra],
        ]),
      edgeNode: async (name) =>
        (await objects.getClusterCustomObject({
          group: GROUP,
          version: VERSION,
          plural: 'edgenodes',
          name,
        })) as EdgeNode,
      dispose,
    };
  } catch (error) {
    await dispose();
    throw error;
  }
}
