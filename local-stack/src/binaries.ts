// SPDX-License-Identifier: Apache-2.0
// Finds or builds the real Kubernetes tools: kube-apiserver + etcd (what `wasmfleet dev up`
// runs), and kubectl and helm (built the first time a user or a test asks for them).
//
// None of them ships in a package registry we can reach, so they are compiled from the Go module
// proxy through the wrapper modules beside this package (docs/control-plane.md, ADR 0002) and
// cached per (versions, go.sum) outside the repository. Users who already have envtest binaries
// point KUBEBUILDER_ASSETS at them and nothing is built.
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  allPresent,
  cacheRoot,
  ensureGoTools,
  STRIPPED_SUFFIX,
  wrapperPins,
  type EnsureOptions,
} from './go-tools.ts';

export { type EnsureOptions } from './go-tools.ts';

export const WRAPPER_MODULE_DIR = fileURLToPath(new URL('../controlplane/', import.meta.url));
/** The wrapper module that builds `helm` (kept apart so Helm's client-go never meets the API server's). */
export const HELM_MODULE_DIR = fileURLToPath(new URL('../helm/', import.meta.url));

export interface ApiServerBinaries {
  readonly dir: string;
  readonly kubeApiserver: string;
  readonly etcd: string;
  /** 'KUBEBUILDER_ASSETS', 'cache' or 'built' — for logs and docs/control-plane.md's timings. */
  readonly source: 'KUBEBUILDER_ASSETS' | 'cache' | 'built';
}

export interface KubectlBinary {
  readonly kubectl: string;
  readonly source: 'KUBEBUILDER_ASSETS' | 'cache' | 'built';
}

const SERVER_TOOLS = [
  { binary: 'kube-apiserver', goPackage: 'k8s.io/kubernetes/cmd/kube-apiserver' },
  { binary: 'etcd', goPackage: 'go.etcd.io/etcd/server/v3' },
] as const;
const KUBECTL_TOOL = { binary: 'kubectl', goPackage: 'k8s.io/kubernetes/cmd/kubectl' } as const;
const HELM_TOOL = { binary: 'helm', goPackage: 'helm.sh/helm/v4/cmd/helm' } as const;

/** Versions pinned by the control-plane wrapper's go.mod, plus its go.mod + go.sum digest. */
export async function pinnedVersions(): Promise<{ kubernetes: string; etcd: string; digest: string }> {
  const pins = await wrapperPins(WRAPPER_MODULE_DIR, ['k8s.io/kubernetes', 'go.etcd.io/etcd/server/v3']);
  return {
    kubernetes: pins.version('k8s.io/kubernetes'),
    etcd: pins.version('go.etcd.io/etcd/server/v3'),
    digest: pins.digest,
  };
}

/** Where kube-apiserver and etcd of the pinned versions are cached (kubectl too, in caches made before it was built apart). */
async function serverDir(): Promise<string> {
  const { kubernetes, etcd, digest } = await pinnedVersions();
  return path.join(
    cacheRoot(),
    'control-plane',
    `k8s-${kubernetes}-etcd-${etcd}-${digest}${STRIPPED_SUFFIX}`,
  );
}

async function fromAssets(binaries: readonly string[]): Promise<string | undefined> {
  const assets = process.env.KUBEBUILDER_ASSETS;
  if (!assets) return undefined;
  if (
    await allPresent(
      assets,
      binaries.map((binary) => ({ binary })),
    )
  )
    return assets;
  throw new Error(
    `KUBEBUILDER_ASSETS=${assets} must contain executable ${binaries.join(', ')}; ` +
      'unset it to have WasmFleet build them from the Go module proxy',
  );
}

/** kube-apiserver + etcd: what a local control plane runs. */
export async function ensureApiServerBinaries(options: EnsureOptions = {}): Promise<ApiServerBinaries> {
  const describe = (dir: string, source: ApiServerBinaries['source']): ApiServerBinaries => ({
    dir,
    source,
    kubeApiserver: path.join(dir, 'kube-apiserver'),
    etcd: path.join(dir, 'etcd'),
  });
  const assets = await fromAssets(['kube-apiserver', 'etcd']);
  if (assets) return describe(assets, 'KUBEBUILDER_ASSETS');
  const dir = await serverDir();
  const source = await ensureGoTools(
    {
      moduleDir: WRAPPER_MODULE_DIR,
      tools: SERVER_TOOLS,
      dir,
      firstBuild: 'about 4 min on 2 idle cores, longer on a busy machine',
    },
    options,
  );
  return describe(dir, source);
}

async function kubectlDir(): Promise<string> {
  const { kubernetes, digest } = await pinnedVersions();
  return path.join(cacheRoot(), 'kubectl', `kubectl-${kubernetes}-${digest}${STRIPPED_SUFFIX}`);
}

/** Where kubectl is, or will be once built (builds nothing). */
export async function cachedKubectlPath(): Promise<string> {
  const assets = await fromAssets(['kubectl']);
  if (assets) return path.join(assets, 'kubectl');
  // Caches made before kubectl was built on its own hold it beside kube-apiserver.
  const beside = path.join(await serverDir(), KUBECTL_TOOL.binary);
  if (await executable(beside)) return beside;
  return path.join(await kubectlDir(), KUBECTL_TOOL.binary);
}

/** The real kubectl of the control plane's Kubernetes version, built on first use. */
export async function ensureKubectlBinary(options: EnsureOptions = {}): Promise<KubectlBinary> {
  const kubectl = await cachedKubectlPath();
  if (process.env.KUBEBUILDER_ASSETS) return { kubectl, source: 'KUBEBUILDER_ASSETS' };
  const source = await ensureGoTools(
    {
      moduleDir: WRAPPER_MODULE_DIR,
      tools: [KUBECTL_TOOL],
      dir: path.dirname(kubectl),
      firstBuild: 'about 20 s after the control plane was built, 3 min or more without it',
    },
    options,
  );
  return { kubectl, source };
}

export interface HelmBinary {
  /** Absolute path of the helm executable. */
  readonly helm: string;
  /** The helm.sh/helm module version it was built from ('unknown' for WASMFLEET_HELM). */
  readonly version: string;
  readonly source: 'WASMFLEET_HELM' | 'cache' | 'built';
}

/**
 * Finds or builds the real `helm`, from local-stack/helm/go.mod, cached like the control-plane
 * binaries. WASMFLEET_HELM=/path/to/helm uses a helm you already have (a helm on PATH is
 * deliberately not picked up: its major version may differ from the pinned one).
 */
export async function ensureHelmBinary(options: EnsureOptions = {}): Promise<HelmBinary> {
  const helm = await cachedHelmPath();
  if (process.env.WASMFLEET_HELM) {
    if (!(await executable(helm))) {
      throw new Error(
        `WASMFLEET_HELM=${helm} is not an executable helm; unset it to build helm from the Go module proxy`,
      );
    }
    return { helm, version: 'unknown', source: 'WASMFLEET_HELM' };
  }
  const pins = await wrapperPins(HELM_MODULE_DIR, ['helm.sh/helm/v4']);
  const source = await ensureGoTools(
    {
      moduleDir: HELM_MODULE_DIR,
      tools: [HELM_TOOL],
      dir: path.dirname(helm),
      firstBuild: 'about 2 min on 2 cores',
    },
    options,
  );
  return { helm, version: pins.version('helm.sh/helm/v4'), source };
}

/** Where helm is, or will be once built (builds nothing). */
export async function cachedHelmPath(): Promise<string> {
  if (process.env.WASMFLEET_HELM) return process.env.WASMFLEET_HELM;
  const pins = await wrapperPins(HELM_MODULE_DIR, ['helm.sh/helm/v4']);
  const dir = path.join(
    cacheRoot(),
    'helm',
    `helm-${pins.version('helm.sh/helm/v4')}-${pins.digest}${STRIPPED_SUFFIX}`,
  );
  return path.join(dir, HELM_TOOL.binary);
}

async function executable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
