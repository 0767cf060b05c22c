// SPDX-License-Identifier: Apache-2.0
// A real Kubernetes control plane: etcd + kube-apiserver on free loopback ports, envtest-style
// (no kubelet, no controller-manager), with RBAC authorization, an admin bearer token,
// service-account signing keys and a generated kubeconfig. `wasmfleet dev up` runs one; so does
// every test run. Its working directory (certificates, the admin token, etcd's data) is removed
// by stop().
import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { ensureApiServerBinaries, ensureKubectlBinary, type ApiServerBinaries } from './binaries.ts';
import { kubeconfigYaml } from './kubeconfig.ts';
import { freePort, waitFor } from './net.ts';
import { spawnManaged, type ManagedProcess } from './processes.ts';
import { readResource, resourceFor, serverSideApply, type ApplyObject } from './server-side-apply.ts';

export const REPO_CRDS_DIR = fileURLToPath(new URL('../../crds/', import.meta.url));

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
  readonly binaries: ApiServerBinaries;
  /** Process ids of etcd and kube-apiserver (for tests that assert teardown). */
  readonly pids: readonly number[];
  /** Runs the real kubectl (built on first use) against this control plane as the admin user. */
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
  /**
   * The certificates, the admin token and etcd's data go in a new directory inside this one
   * (default: the system temp dir), removed by stop().
   */
  readonly workDir?: string;
  /** Install every CRD in this directory (default: the repository's crds/) and wait until served. */
  readonly crdsDir?: string | false;
  /** Keep the processes from holding the event loop open (for a per-process shared instance). */
  readonly unref?: boolean;
  /** Receives one line per startup phase. */
  readonly progress?: (line: string) => void;
  /** Aborting it stops a build of the binaries (Ctrl-C while `dev up` starts). */
  readonly signal?: AbortSignal | undefined;
  /** Write an audit log (every request at Metadata level, see `auditLogPath`). */
  readonly auditLog?: boolean;
  /**
   * Serve watches from the API server's watch cache (the default, as in a real cluster). Off,
   * every watch is served by etcd directly, so compacting etcd past a client's resourceVersion
   * makes its next watch fail with 410 Gone at once.
   */
  readonly watchCache?: boolean;
  /**
   * Picks the three loopback ports (default: free ones chosen by the kernel). A test gives ports
   * it holds to prove a taken port is survived.
   */
  readonly pickPorts?: () => Promise<ControlPlanePorts>;
}

export interface ControlPlanePorts {
  readonly etcdClientPort: number;
  readonly etcdPeerPort: number;
  readonly apiPort: number;
}

// Every request, at Metadata level (who, what, when, response code; no bodies), once complete.
const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
`;

/**
 * Ports are picked free, then bound by etcd and kube-apiserver a moment later; on a busy machine
 * (a whole test suite starting control planes and connections side by side) another process can
 * take one in between. Then both are started again on new ports, as envtest does.
 */
const PORT_ATTEMPTS = 3;

export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<OwnedControlPlane> {
  const progress = options.progress ?? (() => undefined);
  const binaries = await ensureApiServerBinaries({ progress, signal: options.signal });
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnFreePorts(options, binaries, progress);
    } catch (error) {
      if (!(error instanceof PortTakenError) || attempt >= PORT_ATTEMPTS) throw error;
      progress(`a port was taken before ${error.process} bound it; starting again on new ports`);
    }
  }
}

/** etcd or kube-apiserver exited because a port picked for it was taken by then. */
class PortTakenError extends Error {
  readonly process: string;
  constructor(process: string, message: string, options: ErrorOptions) {
    super(message, options);
    this.process = process;
  }
}

async function startOnFreePorts(
  options: ControlPlaneOptions,
  binaries: ApiServerBinaries,
  progress: (line: string) => void,
): Promise<OwnedControlPlane> {
  const dir = await makeWorkDir(options.workDir);
  const { etcdClientPort, etcdPeerPort, apiPort } = await (options.pickPorts ?? freeControlPlanePorts)();
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
    const waitReady = () => {
      // A process that exited, or a port it could not bind, ends the wait at once (waitFor would
      // take a thrown error for "not yet" and wait out its 90 s).
      let fatal: Error | undefined;
      return waitFor(
        'kube-apiserver /readyz',
        async () => {
          const exited = processes.find((p) => p.child.exitCode !== null);
          if (exited) fatal = new Error(`${exited.name} exited with code ${exited.child.exitCode}`);
          else if (await readyz(apiPort, token)) return true;
          // kube-apiserver keeps running (and retrying) when its port is taken; etcd exits.
          else if (
            /address already in use/.test(
              await readFile(path.join(dir, 'kube-apiserver.log'), 'utf8').catch(() => ''),
            )
          )
            fatal = new Error('kube-apiserver could not bind its port');
          return fatal ? true : undefined;
        },
        { timeoutMs: 90_000, intervalMs: 100 },
      )
        .then(() => {
          if (fatal) throw fatal;
        })
        .catch(async (error: unknown) => {
          const texts = await Promise.all(
            ['etcd', 'kube-apiserver'].map(async (n) => ({
              name: n,
              text: await readFile(path.join(dir, `${n}.log`), 'utf8').catch(() => ''),
            })),
          );
          const logs = texts.map(
            ({ name, text }) =>
              `--- ${name}.log (last 40 lines) ---\n${text.split('\n').slice(-40).join('\n')}`,
          );
          const message = `the control plane did not become ready:\n${logs.join('\n')}`;
          const taken = texts.find(({ text }) => /address already in use/.test(text));
          if (taken) throw new PortTakenError(taken.name, message, { cause: error });
          throw new Error(message, { cause: error });
        });
    };
    await waitReady();
    progress(`kube-apiserver ready at ${server} in ${Date.now() - started} ms`);

    const caPem = await readFile(path.join(dir, 'certs', 'apiserver.crt'), 'utf8');
    const writeKubeconfig = async (name: string, userToken: string): Promise<string> => {
      const file = path.join(dir, `${name}.kubeconfig`);
      await writeFile(file, kubeconfigYaml({ server, caPem, token: userToken, user: name }), { mode: 0o600 });
      return file;
    };
    const kubeconfigPath = await writeKubeconfig('admin', token);
    const kubectl = async (args: readonly string[], opts: { stdin?: string; kubeconfig?: string } = {}) =>
      runKubectl((await ensureKubectlBinary()).kubectl, opts.kubeconfig ?? kubeconfigPath, args, opts.stdin);

    if (options.crdsDir !== false) {
      const kube = new KubeConfig();
      kube.loadFromFile(kubeconfigPath);
      await installCrds(kube, options.crdsDir ?? REPO_CRDS_DIR);
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

/** What a CRD manifest says about the kind it serves. */
interface CrdManifest extends ApplyObject {
  readonly spec: {
    readonly group: string;
    readonly names: { readonly kind: string };
    readonly versions: readonly { readonly name: string; readonly served: boolean }[];
  };
}

/**
 * Server-side applies every CRD manifest in `crdsDir` as written, then waits until each is
 * Established and its kind is listed by discovery: Established alone comes first, and a client that
 * applies an object of the kind in that gap is told the server has no such resource type.
 * Through the API, not kubectl: a local stack must not need kubectl.
 */
export async function installCrds(kube: KubeConfig, crdsDir: string, timeoutMs = 60_000): Promise<void> {
  const files = (await readdir(crdsDir)).filter((f) => /\.ya?ml$/.test(f)).sort();
  const crds: CrdManifest[] = [];
  for (const file of files) {
    const crd = parse(await readFile(path.join(crdsDir, file), 'utf8')) as CrdManifest;
    await serverSideApply(kube, crd, { fieldManager: 'wasmfleet', force: true }).catch((cause: unknown) => {
      throw new Error(`installing the CRD in ${path.join(crdsDir, file)} failed`, { cause });
    });
    crds.push(crd);
  }
  for (const crd of crds) {
    const name = crd.metadata.name;
    await waitFor(`CRD ${name} Established`, () => isEstablished(kube, name), { timeoutMs, intervalMs: 100 });
    for (const version of crd.spec.versions.filter((v) => v.served)) {
      const apiVersion = `${crd.spec.group}/${version.name}`;
      await waitFor(
        `${crd.spec.names.kind} in ${apiVersion} listed by discovery`,
        () =>
          resourceFor(kube, apiVersion, crd.spec.names.kind).then(
            () => true,
            () => undefined,
          ),
        { timeoutMs, intervalMs: 100 },
      );
    }
  }
}

async function isEstablished(kube: KubeConfig, name: string): Promise<true | undefined> {
  const crd = (await readResource(
    kube,
    `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`,
  )) as { status?: { conditions?: { type: string; status: string }[] } } | undefined;
  return crd?.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')
    ? true
    : undefined;
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

async function freeControlPlanePorts(): Promise<ControlPlanePorts> {
  const ports = new Set<number>();
  while (ports.size < 3) ports.add(await freePort());
  const [etcdClientPort = 0, etcdPeerPort = 0, apiPort = 0] = ports;
  return { etcdClientPort, etcdPeerPort, apiPort };
}

async function makeWorkDir(parent: string | undefined): Promise<string> {
  if (parent !== undefined) await mkdir(parent, { recursive: true, mode: 0o700 });
  return mkdtemp(path.join(parent ?? tmpdir(), 'wasmfleet-control-plane-'));
}

function unrefProcess(p: ManagedProcess): void {
  p.child.unref();
  const pipes = [p.child.stdout, p.child.stderr] as const;
  for (const pipe of pipes) (pipe as unknown as { unref?: () => void } | null)?.unref?.();
}
