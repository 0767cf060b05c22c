// SPDX-License-Identifier: Apache-2.0
// Reads a kubeconfig without @kubernetes/client-node (docs/adr/0027): which file (kubectl's
// order, plus a running `wasmfleet dev up` stack), which context, namespace and server, and —
// for the credentials almost every cluster uses (a token, a client certificate, a CA) — the TLS
// and header options of a request. Loading client-node costs a CLI call ~100 ms of CPU; reading
// YAML costs ~2. Credentials this does not handle (exec plugins, auth providers, proxies,
// impersonation) are left to client-node, loaded only then (`needsClientNode`).
// The YAML is read with js-yaml, the parser client-node reads kubeconfigs with: on a kubeconfig's
// long base64 lines it is 5-10x faster than `yaml` (docs/adr/0046: 0.5 ms against 2-10 ms a call).
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { load } from 'js-yaml';
import { runningDevStateSync } from '../dev/state-file.ts';
import { UserError } from '../errors.ts';

export interface KubeFlags {
  readonly kubeconfig?: string | undefined;
  readonly context?: string | undefined;
  readonly namespace?: string | undefined;
}

/** Where the kubeconfig came from (for hints). */
export type KubeconfigSource = 'flag' | 'env' | 'dev-stack' | 'home' | 'in-cluster';

/** TLS and header options for node:https, from the kubeconfig alone. */
export interface Credentials {
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  readonly token?: string;
  readonly rejectUnauthorized: boolean;
  readonly servername?: string;
}

export interface KubeTarget {
  readonly source: KubeconfigSource;
  /** The file read (undefined in-cluster). */
  readonly file: string | undefined;
  readonly contextName: string;
  readonly namespace: string;
  readonly server: string;
  /** Undefined when the user's credentials need client-node (exec, auth-provider, proxy, …). */
  readonly credentials: Credentials | undefined;
}

/** Which kubeconfig file to read, in kubectl's order plus a running dev stack. */
export function chooseKubeconfig(flags: KubeFlags): { file: string | undefined; source: KubeconfigSource } {
  if (flags.kubeconfig) return { file: flags.kubeconfig, source: 'flag' };
  const env = process.env.KUBECONFIG;
  if (env) return { file: env, source: 'env' };
  const dev = flags.context === undefined ? runningDevStateSync() : undefined;
  if (dev) return { file: dev.kubeconfig, source: 'dev-stack' };
  const home = path.join(homedir(), '.kube', 'config');
  if (existsSync(home)) return { file: home, source: 'home' };
  return { file: undefined, source: 'in-cluster' };
}

export function loadKubeTarget(flags: KubeFlags): KubeTarget {
  const { file, source } = chooseKubeconfig(flags);
  if (file === undefined) return inCluster(flags);
  const first = firstExisting(file);
  const doc = readKubeconfig(first);
  const contextName = flags.context ?? doc['current-context'] ?? '';
  const context = doc.contexts?.find((c) => c.name === contextName)?.context;
  if (!context) {
    const known = (doc.contexts ?? []).map((c) => c.name);
    if (flags.context !== undefined) {
      throw new UserError(`context "${flags.context}" is not in the kubeconfig`, {
        hint: known.length > 0 ? `known contexts: ${known.join(', ')}` : 'the kubeconfig defines no contexts',
      });
    }
    throw new UserError(`the kubeconfig ${first} has no current context`, {
      hint:
        known.length > 0
          ? `pick one with --context (${known.join(', ')})`
          : 'the kubeconfig defines no contexts',
    });
  }
  const cluster = doc.clusters?.find((c) => c.name === context.cluster)?.cluster;
  if (!cluster?.server) {
    throw new UserError(`the current context "${contextName}" names no cluster`, {
      hint: 'pick a context with --context (see `kubectl config get-contexts`)',
    });
  }
  const user = doc.users?.find((u) => u.name === context.user)?.user ?? {};
  return {
    source,
    file: first,
    contextName,
    namespace: flags.namespace ?? context.namespace ?? 'default',
    server: cluster.server,
    credentials: credentialsOf(cluster, user, path.dirname(first)),
  };
}

interface KubeconfigDoc {
  readonly 'current-context'?: string;
  readonly contexts?: { name: string; context?: { cluster?: string; user?: string; namespace?: string } }[];
  readonly clusters?: { name: string; cluster?: ClusterEntry }[];
  readonly users?: { name: string; user?: Record<string, unknown> }[];
}

interface ClusterEntry {
  readonly server?: string;
  readonly 'certificate-authority'?: string;
  readonly 'certificate-authority-data'?: string;
  readonly 'insecure-skip-tls-verify'?: boolean;
  readonly 'tls-server-name'?: string;
  readonly 'proxy-url'?: string;
}

/** The user fields handled here; any other (exec, auth-provider, as, username, …) means client-node. */
const HANDLED_USER_FIELDS = new Set([
  'token',
  'tokenFile',
  'client-certificate',
  'client-certificate-data',
  'client-key',
  'client-key-data',
]);

function credentialsOf(
  cluster: ClusterEntry,
  user: Record<string, unknown>,
  dir: string,
): Credentials | undefined {
  if (cluster['proxy-url'] !== undefined) return undefined;
  if (Object.keys(user).some((k) => !HANDLED_USER_FIELDS.has(k))) return undefined;
  const read = (file: unknown): Buffer | undefined =>
    typeof file === 'string' ? readFileSync(path.resolve(dir, file)) : undefined;
  const data = (b64: unknown): Buffer | undefined =>
    typeof b64 === 'string' ? Buffer.from(b64, 'base64') : undefined;
  const ca = data(cluster['certificate-authority-data']) ?? read(cluster['certificate-authority']);
  const cert = data(user['client-certificate-data']) ?? read(user['client-certificate']);
  const key = data(user['client-key-data']) ?? read(user['client-key']);
  const token = typeof user.token === 'string' ? user.token : read(user.tokenFile)?.toString('utf8').trim();
  return {
    ...(ca ? { ca } : {}),
    ...(cert ? { cert } : {}),
    ...(key ? { key } : {}),
    ...(token ? { token } : {}),
    rejectUnauthorized: cluster['insecure-skip-tls-verify'] !== true,
    ...(cluster['tls-server-name'] ? { servername: cluster['tls-server-name'] } : {}),
  };
}

/** $KUBECONFIG may list several files; like the CLI always has, the first one is read. */
function firstExisting(list: string): string {
  for (const f of list.split(path.delimiter)) {
    if (!existsSync(f)) {
      throw new UserError(`kubeconfig ${f} does not exist`, {
        hint: 'pass an existing file with --kubeconfig, or start a local stack with `wasmfleet dev up`',
      });
    }
  }
  return list.split(path.delimiter)[0] ?? list;
}

function readKubeconfig(file: string): KubeconfigDoc {
  try {
    const doc = load(readFileSync(file, 'utf8'));
    if (doc === null || typeof doc !== 'object') throw new Error('it is not a YAML mapping');
    return doc;
  } catch (error) {
    throw new UserError(`cannot read kubeconfig ${file}: ${(error as Error).message}`, {
      hint: 'check the file is a valid kubeconfig (`kubectl config view`)',
      cause: error,
    });
  }
}

/** Inside a pod: the service account's token and CA, as client-go's rest.InClusterConfig. */
function inCluster(flags: KubeFlags): KubeTarget {
  const host = process.env.KUBERNETES_SERVICE_HOST;
  const port = process.env.KUBERNETES_SERVICE_PORT ?? '443';
  if (!host) {
    throw new UserError(
      'no cluster to talk to: no --kubeconfig, no $KUBECONFIG, no running `wasmfleet dev up` stack, no ~/.kube/config',
      { hint: 'start a local stack with `wasmfleet dev up` (or scripts/dev-up), or pass --kubeconfig' },
    );
  }
  const sa = '/var/run/secrets/kubernetes.io/serviceaccount';
  const read = (name: string): string | undefined => {
    try {
      return readFileSync(path.join(sa, name), 'utf8').trim();
    } catch {
      return undefined;
    }
  };
  const ca = read('ca.crt');
  const token = read('token');
  return {
    source: 'in-cluster',
    file: undefined,
    contextName: 'in-cluster',
    namespace: flags.namespace ?? read('namespace') ?? 'default',
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    credentials: {
      ...(ca ? { ca: Buffer.from(ca) } : {}),
      ...(token ? { token } : {}),
      rejectUnauthorized: true,
    },
  };
}
