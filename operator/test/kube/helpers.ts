// SPDX-License-Identifier: Apache-2.0
// Shared fixtures for the kube plumbing tests: clients for the real control plane, a namespace
// per file, throwaway CRDs, and a TCP proxy that can cut the connection to the API server.
import { KubeConfig } from '@kubernetes/client-node';
import { createServer, connect, type Socket } from 'node:net';
import { sharedControlPlane, uniqueName, waitFor } from '@wasmfleet/test-support';

export type ControlPlane = Awaited<ReturnType<typeof sharedControlPlane>>;

export async function controlPlane(): Promise<ControlPlane> {
  return sharedControlPlane();
}

export function kubeConfigFor(cp: ControlPlane, server?: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(cp.kubeconfigPath);
  if (server === undefined) return kc;
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('the test kubeconfig has no current cluster');
  const patched = new KubeConfig();
  patched.loadFromOptions({
    clusters: [{ ...cluster, server }],
    users: kc.users,
    contexts: kc.contexts,
    currentContext: kc.currentContext,
  });
  return patched;
}

export async function kubectlOk(cp: ControlPlane, args: readonly string[], stdin?: string): Promise<string> {
  const result = await cp.kubectl(args, stdin === undefined ? {} : { stdin });
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

export async function createNamespace(cp: ControlPlane, prefix: string): Promise<string> {
  const namespace = uniqueName(prefix);
  await kubectlOk(cp, ['create', 'namespace', namespace]);
  return namespace;
}

export interface TestCrd {
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  readonly kind: string;
  readonly apiVersion: string;
}

/** A throwaway CRD with a status subresource and an open schema, in a group unique to the caller. */
export async function createTestCrd(
  cp: ControlPlane,
  { scope, kind }: { scope: 'Namespaced' | 'Cluster'; kind: string },
): Promise<TestCrd> {
  const group = `${uniqueName('g')}.test.wasmfleet.io`;
  const plural = `${kind.toLowerCase()}s`;
  const crd = {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${group}` },
    spec: {
      group,
      scope,
      names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          subresources: { status: {} },
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
                status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
              },
            },
          },
        },
      ],
    },
  };
  await kubectlOk(cp, ['apply', '-f', '-'], JSON.stringify(crd));
  await kubectlOk(cp, ['wait', '--for=condition=Established', '--timeout=30s', `crd/${plural}.${group}`]);
  // Established comes slightly before discovery serves the kind; wait until kubectl can list it.
  await waitFor(`${plural}.${group} served`, async () =>
    (await cp.kubectl(['get', `${plural}.${group}`, '-A'])).code === 0 ? true : undefined,
  );
  return { group, version: 'v1', plural, kind, apiVersion: `${group}/v1` };
}

export interface TcpProxy {
  /** https://127.0.0.1:<port>, to put in a kubeconfig instead of the API server's address. */
  readonly url: string;
  /** Connections opened so far. */
  readonly accepted: number;
  /** Destroys every open connection (as a network drop or an API server restart would). */
  dropAll(): void;
  /** Drops everything and refuses new connections until resume(). */
  pause(): void;
  resume(): void;
  close(): Promise<void>;
}

/** A loopback TCP proxy in front of `target` (TLS passes through untouched). */
export async function startTcpProxy(target: string): Promise<TcpProxy> {
  const { hostname, port } = new URL(target);
  const sockets = new Set<Socket>();
  let paused = false;
  let accepted = 0;
  const server = createServer((client) => {
    if (paused) {
      client.destroy();
      return;
    }
    accepted += 1;
    const upstream = connect({ host: hostname, port: Number(port) });
    sockets.add(client);
    sockets.add(upstream);
    const cleanup = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', cleanup).on('close', cleanup);
    upstream.on('error', cleanup).on('close', cleanup);
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address !== 'object') throw new Error('proxy has no address');
  const dropAll = (): void => {
    for (const s of sockets) s.destroy();
    sockets.clear();
  };
  return {
    url: `https://127.0.0.1:${address.port}`,
    get accepted() {
      return accepted;
    },
    dropAll,
    pause: () => {
      paused = true;
      dropAll();
    },
    resume: () => {
      paused = false;
    },
    close: async () => {
      dropAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
