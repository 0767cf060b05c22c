// SPDX-License-Identifier: Apache-2.0
// Loads the kubeconfig the way kubectl does (--kubeconfig, $KUBECONFIG, ~/.kube/config, then
// in-cluster), applies --context and -n, and explains what is wrong when it cannot.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { KubeConfig, KubernetesObjectApi } from '@kubernetes/client-node';
import { UserError } from '../errors.ts';

export interface KubeFlags {
  readonly kubeconfig?: string | undefined;
  readonly context?: string | undefined;
  readonly namespace?: string | undefined;
}

export interface KubeContext {
  readonly config: KubeConfig;
  readonly objects: KubernetesObjectApi;
  readonly namespace: string;
  readonly server: string;
  readonly contextName: string;
}

export function loadKubeContext(flags: KubeFlags): KubeContext {
  const config = new KubeConfig();
  const file = flags.kubeconfig ?? process.env.KUBECONFIG;
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
    } else if (existsSync(path.join(homedir(), '.kube', 'config'))) {
      config.loadFromFile(path.join(homedir(), '.kube', 'config'));
    } else if (process.env.KUBERNETES_SERVICE_HOST) {
      config.loadFromCluster();
    } else {
      throw new UserError('no kubeconfig found ($KUBECONFIG and ~/.kube/config are unset/missing)', {
        hint: 'pass --kubeconfig, or start a local stack with `wasmfleet dev up`',
      });
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
    objects: KubernetesObjectApi.makeApiClient(config),
    namespace: flags.namespace ?? current?.namespace ?? 'default',
    server: cluster.server,
    contextName: config.getCurrentContext(),
  };
}
