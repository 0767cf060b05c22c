// SPDX-License-Identifier: Apache-2.0
// A real Kubernetes control plane for tests: etcd + kube-apiserver on free loopback ports,
// envtest-style (no kubelet, no controller-manager), with RBAC authorization, an admin bearer
// token, service-account signing keys and a generated kubeconfig.
import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureControlPlaneBinaries, type ControlPlaneBinaries } from './binaries.ts';
import { processExists, spawnManaged, type ManagedProcess } from '../processes.ts';
import { freePort, waitFor } from '../util.ts';
import { kubeconfigYaml } from './kubeconfig.ts';

export const REPO_CRDS_DIR = fileURLToPath(new URL('../../../crds/', import.meta.url));

export interface KubectlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface ControlPlane {
  /** https://127.0.0.1:<port> */
  readonly server: string;
  /** Admin bearer token (member of system:masters). */
  readonly token: string;
  /** A kubeconfig for the admin user, with the server's CA. */
  readonly kubeconfigPath: string;
  /** PEM of the CA that signed the serving certificate. */
  readonly caPem: string;
  readonly binaries: ControlPlaneBinaries;
  /** Process ids of etcd and kube-apiserver (for tests that assert teardown). */
  readonly pids: readonly number[];
  /** Runs the real kubectl against this control plane as the admin user. */
  kubectl(args: readonly string[], options?: { stdin?: string; kubeconfig?: string }): Promise<KubectlResult>;
  /** Writes a kubeconfig that authenticates with `token` (e.g. a ServiceAccount's). */
  writeKubeconfig(name: string, token: string): Promise<string>;
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** A control plane this process started, with the levers fault tests pull. */
export interface OwnedControlPlane extends ControlPlane {
  /** The kube-apiserver's audit log (JSON lines), when started with `auditLog`. */
  readonly auditLogPath: string | undefined;
  /**
   * Stops kube-apiserver (SIGTERM, as a rolling upgrade would) and starts it again on the same
   * port with the same certificates and etcd, resolving once it is ready. Clients keep working
   * with the same kubeconfig; every watch is cut.
   */
  restartApiServer(options?: { downMs?: number }): Promise<void>;
  /** Compacts etcd up to its current revision; returns that revision. Older watches get 410 Gone. */
  compactEtcd(): Promise<number>;
}

export interface ControlPlaneOptions {
  /** Install every CRD in this directory (default: the repository's crds/) and wait until served. */
  readonly crdsDir?: string | false;
  /** Keep the processes from holding the event loop open (for a per-process shared instance). */
  readonly unref?: boolean;
  /** Receives one line per startup phase. */
  readonly progress?: (line: string) => void;
  /** Write an audit log (every request at Metadata level, see `auditLogPath`). */
  readonly auditLog?: boolean;
  /**
   * Serve watches from the API server's watch cache (the default, as in a real cluster). Off,
   * every watch is served by etcd directly, so compacting etcd past a client's resourceVersion
   * makes its next watch fail with 410 Gone at once.
   */
  readonly watchCache?: boolean;
}

// Every request, at Metadata level (who, what, when, response code; no bodies), once complete.
const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
`;

export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<OwnedControlPlane> {
  const progress = options.progress ?? (() => undefined);
  const binaries = await ensureControlPlaneBinaries({ progress });
  const dir = await mkdtemp(path.join(tmpdir(), 'wasmfleet-control-plane-'));
  const { etcdClientPort, etcdPeerPort, apiPort } = await controlPlanePorts();
  const token = randomBytes(24).toString('hex');
  const processes: ManagedProcess[] = [];

  const stop = async (): Promise<void> => {
    // The API server first, so it does not log storms about a vanished etcd.
    for (const p of [...processes].reverse()) await p.stop();
    await rm(dir, { recursive: true, force: true });
  };

  try {
    await writeCredentials(dir, token);
    const etcd = spawnManaged('etcd', binaries.etcd, {
      logFile: path.join(dir, 'etcd.log'),
      args: [
        `--name=default`,
        `--data-dir=${path.join(dir, 'etcd-data')}`,
        `--listen-client-urls=http://127.0.0.1:${etcdClientPort}`,
        `--advertise-client-urls=http://127.0.0.1:${etcdClientPort}`,
        `--listen-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
        `--initial-cluster=default=http://127.0.0.1:${etcdPeerPort}`,
        // Test data is thrown away: skipping fsync makes every write ~10x cheaper.
        '--unsafe-no-fsync',
        '--log-level=warn',
      ],
    });
    processes.push(etcd);
    const auditLogPath = options.auditLog ? path.join(dir, 'audit.log') : undefined;
    if (auditLogPath) await writeFile(path.join(dir, 'audit-policy.yaml'), AUDIT_POLICY);
    const apiserverArgs = [
      `--etcd-servers=http://127.0.0.1:${etcdClientPort}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      `--cert-dir=${path.join(dir, 'certs')}`,
      `--token-auth-file=${path.join(dir, 'tokens.csv')}`,
      '--authorization-mode=RBAC',
      `--service-account-issuer=https://127.0.0.1:${apiPort}`,
      `--service-account-key-file=${path.join(dir, 'sa.pub')}`,
      `--service-account-signing-key-file=${path.join(dir, 'sa.key')}`,
      '--service-cluster-ip-range=10.96.0.0/24',
      // No kubelet or controller-manager runs here; nothing needs the kubernetes Service.
      '--endpoint-reconciler-type=none',
      '--allow-privileged=false',
      '--v=0',
      ...(options.watchCache === false ? ['--watch-cache=false'] : []),
      ...(auditLogPath
        ? [`--audit-policy-file=${path.join(dir, 'audit-policy.yaml')}`, `--audit-log-path=${auditLogPath}`]
        : []),
    ];
    const startApiServer = (): ManagedProcess =>
      spawnManaged('kube-apiserver', binaries.kubeApiserver, {
        logFile: path.join(dir, 'kube-apiserver.log'),
        args: apiserverArgs,
      });
    let apiserver = startApiServer();
    processes.push(apiserver);
    if (options.unref) for (const p of processes) unrefProcess(p);

    const server = `https://127.0.0.1:${apiPort}`;
    const started = Date.now();
    const waitReady = () =>
      waitFor(
        'kube-apiserver /readyz',
        async () => {
          for (const p of processes) {
            if (p.child.exitCode !== null) throw new Error(`${p.name} exited with code ${p.child.exitCode}`);
          }
          return (await readyz(apiPort, token)) ? true : undefined;
        },
        { timeoutMs: 90_000, intervalMs: 100 },
      ).catch(async (error: unknown) => {
        const logs = await Promise.all(
          ['etcd', 'kube-apiserver'].map(async (n) => {
            const text = await readFile(path.join(dir, `${n}.log`), 'utf8').catch(() => '');
            return `--- ${n}.log (last 40 lines) ---\n${text.split('\n').slice(-40).join('\n')}`;
          }),
        );
        throw new Error(`the control plane did not become ready:\n${logs.join('\n')}`, { cause: error });
      });
    await waitReady();
    progress(`kube-apiserver ready at ${server} in ${Date.now() - started} ms`);

    const caPem = await readFile(path.join(dir, 'certs', 'apiserver.crt'), 'utf8');
    const writeKubeconfig = async (name: string, userToken: string): Promise<string> => {
      const file = path.join(dir, `${name}.kubeconfig`);
      await writeFile(file, kubeconfigYaml({ server, caPem, token: userToken, user: name }), { mode: 0o600 });
      return file;
    };
    const kubeconfigPath = await writeKubeconfig('admin', token);
    const kubectl = (args: readonly string[], opts: { stdin?: string; kubeconfig?: string } = {}) =>
      runKubectl(binaries.kubectl, opts.kubeconfig ?? kubeconfigPath, args, opts.stdin);

    if (options.crdsDir !== false) {
      await installCrds(kubectl, options.crdsDir ?? REPO_CRDS_DIR);
      progress(`CRDs installed and established`);
    }

    const plane: OwnedControlPlane = {
      server,
      token,
      kubeconfigPath,
      caPem,
      binaries,
      get pids() {
        return processes.map((p) => p.pid);
      },
      kubectl,
      writeKubeconfig,
      auditLogPath,
      restartApiServer: async ({ downMs = 0 } = {}) => {
        await apiserver.stop();
        processes.splice(processes.indexOf(apiserver), 1);
        if (downMs > 0) await new Promise((resolve) => setTimeout(resolve, downMs));
        apiserver = startApiServer();
        processes.push(apiserver);
        if (options.unref) unrefProcess(apiserver);
        await waitReady();
      },
      compactEtcd: () => compactEtcd(etcdClientPort),
      stop,
      [Symbol.asyncDispose]: stop,
    };
    if (options.unref) {
      // An unref'd instance is torn down when its process exits; remove its files too.
      process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    }
    return plane;
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Compacts etcd (through its JSON gateway) up to the current revision; returns the revision. */
async function compactEtcd(port: number): Promise<number> {
  const call = async (api: string, body: object): Promise<unknown> => {
    const response = await fetch(`http://127.0.0.1:${port}/v3/${api}`, {
      method: 'POST',
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`etcd ${api}: HTTP ${response.status}: ${await response.text()}`);
    return response.json();
  };
  // A range read of any key reports the store's current revision in its header.
  const range = (await call('kv/range', { key: Buffer.from('/').toString('base64') })) as {
    header?: { revision?: string };
  };
  const revision = Number(range.header?.revision);
  if (!Number.isInteger(revision) || revision < 1) {
    throw new Error(`etcd reported no current revision: ${JSON.stringify(range)}`);
  }
  await call('kv/compaction', { revision: String(revision), physical: true });
  return revision;
}

async function installCrds(
  kubectl: (args: readonly string[]) => Promise<KubectlResult>,
  crdsDir: string,
): Promise<void> {
  const manifests = (await readdir(crdsDir)).filter((f) => /\.(ya?ml|json)$/.test(f));
  if (manifests.length === 0) return;
  const applied = await kubectl(['apply', '--server-side', '--field-manager=wasmfleet-tests', '-f', crdsDir]);
  if (applied.code !== 0) throw new Error(`installing CRDs from ${crdsDir} failed: ${applied.stderr}`);
  const waited = await kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all']);
  if (waited.code !== 0) throw new Error(`CRDs did not become Established: ${waited.stderr}`);
}

export function runKubectl(
  binary: string,
  kubeconfig: string,
  args: readonly string[],
  stdin?: string,
): Promise<KubectlResult> {
  return new Promise((resolve) => {
    const child = execFile(
      binary,
      [`--kubeconfig=${kubeconfig}`, ...args],
      { maxBuffer: 64 * 1024 * 1024, env: { ...process.env, KUBECONFIG: kubeconfig } },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    if (stdin !== undefined) child.stdin?.end(stdin);
    else child.stdin?.end();
  });
}

async function writeCredentials(dir: string, token: string): Promise<void> {
  await mkdir(path.join(dir, 'certs'), { recursive: true });
  // The static token file: token,user,uid,"group1,group2"
  await writeFile(path.join(dir, 'tokens.csv'), `${token},admin,admin,"system:masters"\n`, { mode: 0o600 });
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  await writeFile(path.join(dir, 'sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }), {
    mode: 0o600,
  });
  await writeFile(path.join(dir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
}

function readyz(port: number, token: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/readyz',
        headers: { authorization: `Bearer ${token}` },
        // Before it is ready the self-signed certificate may not exist yet; readiness is all we ask.
        rejectUnauthorized: false,
        timeout: 2_000,
      },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

async function controlPlanePorts(): Promise<{
  etcdClientPort: number;
  etcdPeerPort: number;
  apiPort: number;
}> {
  const ports = new Set<number>();
  while (ports.size < 3) ports.add(await freePort());
  const [etcdClientPort = 0, etcdPeerPort = 0, apiPort = 0] = ports;
  return { etcdClientPort, etcdPeerPort, apiPort };
}

function unrefProcess(p: ManagedProcess): void {
  p.child.unref();
  const pipes = [p.child.stdout, p.child.stderr] as const;
  for (const pipe of pipes) (pipe as unknown as { unref?: () => void } | null)?.unref?.();
}

/** Every pid is gone (used by teardown tests). */
export function allExited(pids: readonly number[]): boolean {
  return pids.every((pid) => !processExists(pid));
}
