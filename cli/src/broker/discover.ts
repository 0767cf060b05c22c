// SPDX-License-Identifier: Apache-2.0
// Which MQTT broker `logs` and `invoke` talk to when --broker (WASMFLEET_BROKER) is not given:
// the running `wasmfleet dev up` stack's, when the command talks to that stack's cluster; else
// the broker the cluster's WasmFleet operator is configured with (a chart install: the
// operator Deployment's WASMFLEET_BROKER). An address that only resolves inside the cluster is
// not tried blindly: the error says how to forward it.
import { runningDevStateSync } from '../dev/state-file.ts';
import { UserError } from '../errors.ts';
import type { KubeContext } from '../kube/context.ts';
import { requireBroker } from './url.ts';

const OPERATOR_SELECTOR = 'app.kubernetes.io/part-of=wasmfleet,app.kubernetes.io/component=operator';

interface OperatorBroker {
  readonly namespace: string;
  readonly url: string;
}

/** --broker (or WASMFLEET_BROKER), else the running dev stack's broker (for `sim sensors`). */
export function brokerOrDevStack(given: string | undefined): string {
  if (given !== undefined && given !== '') return requireBroker(given);
  const dev = runningDevStateSync();
  return requireBroker(dev?.broker);
}

/**
 * --broker (or WASMFLEET_BROKER), else the broker of the running dev stack this context points at;
 * undefined otherwise. For commands whose broker part is optional (`get nodes`, `describe node`):
 * no lookup of the cluster's operator, so they stay as fast as kubectl.
 */
export function devStackBroker(given: string | undefined, kube: KubeContext): string | undefined {
  if (given !== undefined && given !== '') return given;
  const dev = runningDevStateSync();
  return dev && kube.file === dev.kubeconfig ? dev.broker : undefined;
}

export async function resolveBroker(given: string | undefined, kube: KubeContext): Promise<string> {
  const known = devStackBroker(given, kube);
  if (known !== undefined) return requireBroker(known);
  const operator = await operatorBroker(kube);
  if (!operator) return requireBroker(undefined);
  if (insideCluster(operator.url)) {
    const service = new URL(operator.url).hostname.split('.')[0] ?? 'wasmfleet-mosquitto';
    const port = new URL(operator.url).port || '8883';
    throw new UserError(
      `the WasmFleet operator in namespace ${operator.namespace} uses the broker ${operator.url}, which only resolves inside the cluster`,
      {
        hint: `forward it (kubectl -n ${operator.namespace} port-forward svc/${service} ${port}) and pass --broker mqtts://user:password@localhost:${port} with its CA: --broker-ca ca.crt`,
      },
    );
  }
  return requireBroker(operator.url);
}

/** The broker URL of the first WasmFleet operator Deployment the user may read, if any. */
async function operatorBroker(kube: KubeContext): Promise<OperatorBroker | undefined> {
  const list = await kube.api
    .get<{ items?: Deployment[] }>(
      `/apis/apps/v1/deployments?labelSelector=${encodeURIComponent(OPERATOR_SELECTOR)}`,
    )
    .catch(() => undefined);
  for (const deployment of list?.items ?? []) {
    for (const container of deployment.spec?.template?.spec?.containers ?? []) {
      const url = container.env?.find((e) => e.name === 'WASMFLEET_BROKER')?.value;
      if (url) return { namespace: deployment.metadata?.namespace ?? 'default', url };
    }
  }
  return undefined;
}

interface Deployment {
  readonly metadata?: { readonly namespace?: string };
  readonly spec?: {
    readonly template?: {
      readonly spec?: {
        readonly containers?: readonly { readonly env?: readonly { name: string; value?: string }[] }[];
      };
    };
  };
}

/** A Service name (…svc, …svc.cluster.local, or a bare name) that no laptop resolves. */
export function insideCluster(url: string): boolean {
  try {
    const host = new URL(url).hostname;
    if (host.startsWith('[') || host === 'localhost') return false;
    return host.endsWith('.svc') || host.endsWith('.cluster.local') || !host.includes('.');
  } catch {
    return false;
  }
}
