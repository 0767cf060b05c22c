// Loads the kubeconfig the way kubectl does (--kubeconfig, $KUBECONFIG, ~/.kube/config, then
// in-cluster), applies --context and -n, and explains what is wrong when it cannot. One step
// more than kubectl: while a `wasmfleet dev up` stack runs, it comes before ~/.kube/config (as
// kind makes its cluster the current context), unless --context names another.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { KubeConfig, KubernetesObjectApi } from '@kubernetes/client-node';
import { runningDevStateSync } from '../dev/state-file.ts';
import { UserError } from '../errors.ts';

export interface KubeFlags {
  readonly kubeconfig?: string | undefined;
  readonly context?: string | undefined;
  readonly namespace?: string | undefined;
}

/** Where the kubeconfig came from (for hints). */
export type KubeconfigSource = 'flag' | 'env' | 'dev-stack' | 'home' | 'in-cluster';

export interface KubeContext {
  readonly config: KubeConfig;
  readonly source: KubeconfigSource;
  /** The file read (undefined in-cluster). */
  readonly file: string | undefined;
  readonly objects: KubernetesObjectApi;
  readonly namespace: string;
  readonly server: string;
  readonly contextName: string;
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

export function loadKubeContext(flags: KubeFlags): KubeContext {
  const config = new KubeConfig();
  const { file, source } = chooseKubeconfig(flags);
  try {
    if (file) {
      for (const f of file.split(path.delimiter)) {
        if (!existsSync(f)) {
          throw new UserError(`kubeconfig ${f} does not exist`, {
            hint: 'pass an existing file with --kubeconfig, or start a local stack with `wasmfleet dev up`',
          });
        }
      }
      config.loadFromFile(file.split(path.delimiter)[0] ?? file);
    } else if (process.env.KUBERNETES_SERVICE_HOST) {
      config.loadFromCluster();
    } else {
      throw new UserError(
        'no cluster to talk to: no --kubeconfig, no $KUBECONFIG, no running `wasmfleet dev up` stack, no ~/.kube/config',
        { hint: 'start a local stack with `wasmfleet dev up` (or scripts/dev-up), or pass --kubeconfig' },
      );
    }
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw new UserError(`cannot read kubeconfig ${file ?? '~/.kube/config'}: ${(error as Error).message}`, {
      hint: 'check the file is a valid kubeconfig (`kubectl config view`)',
      cause: error,
    });
  }
  if (flags.context) {
    if (!config.getContexts().some((c) => c.name === flags.context)) {
      const known = config.getContexts().map((c) => c.name);
      throw new UserError(`context "${flags.context}" is not in the kubeconfig`, {
        hint: known.length > 0 ? `known contexts: ${known.join(', ')}` : 'the kubeconfig defines no contexts',
      });
    }
    config.setCurrentContext(flags.context);
  }
  const current = config.getContextObject(config.getCurrentContext());
  const cluster = config.getCurrentCluster();
  if (!cluster) {
    throw new UserError(`the current context "${config.getCurrentContext()}" names no cluster`, {
      hint: 'pick a context with --context (see `kubectl config get-contexts`)',
    });
  }
  return {
    config,
    source,
    file,
    objects: KubernetesObjectApi.makeApiClient(config),
    namespace: flags.namespace ?? current?.namespace ?? 'default',
    server: cluster.server,
    contextName: config.getCurrentContext(),
  };
}
