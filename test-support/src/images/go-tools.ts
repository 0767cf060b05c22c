// SPDX-License-Identifier: Apache-2.0
// Go programs the kind node image needs (containerd, crictl, CNI plugins, CoreDNS, kind itself,
// and the Kubernetes node binaries), built from the Go module proxy into
// ~/.cache/wasmfleet/go-tools, one directory per module version. They share Go's build cache
// with the control-plane build (same GOCACHE), so packages both use compile once.
import { access, mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { constants } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureGoTools, pinnedVersions, STRIP_LDFLAGS, STRIPPED_SUFFIX } from '@wasmfleet/local-stack';
import { digestOfFiles } from './image-cache.ts';
import { imageCacheDir, runCommand } from './docker.ts';

export interface GoModuleTools {
  /** A short name for the cache directory and logs. */
  readonly name: string;
  readonly module: string;
  readonly version: string;
  /** Packages inside the module, relative to it ('' for the module root). */
  readonly packages: readonly string[];
  /** Extra `go build` tags. */
  readonly tags?: readonly string[];
}

export const CONTAINERD: GoModuleTools = {
  name: 'containerd',
  module: 'github.com/containerd/containerd/v2',
  version: 'v2.4.2',
  packages: ['cmd/containerd', 'cmd/ctr', 'cmd/containerd-shim-runc-v2'],
  tags: ['no_btrfs', 'no_devmapper', 'no_zfs', 'no_aufs'],
};
export const CRICTL: GoModuleTools = {
  name: 'crictl',
  module: 'sigs.k8s.io/cri-tools',
  version: 'v1.37.0',
  packages: ['cmd/crictl'],
};
export const CNI_PLUGINS: GoModuleTools = {
  name: 'cni-plugins',
  module: 'github.com/containernetworking/plugins',
  version: 'v1.9.1',
  packages: ['plugins/ipam/host-local', 'plugins/main/loopback', 'plugins/main/ptp', 'plugins/meta/portmap'],
};
/** The CoreDNS release kubeadm v1.37 deploys (its constants.CoreDNSVersion), as pinned in the wrapper. */
export const COREDNS_VERSION = 'v1.14.6';
export const KIND: GoModuleTools = {
  name: 'kind',
  module: 'sigs.k8s.io/kind',
  version: 'v0.33.0',
  packages: [''],
};

/** The directory holding the module's binaries, built with `go install pkg@version` when missing. */
export async function ensureGoModuleTools(
  tools: GoModuleTools,
  progress?: (line: string) => void,
): Promise<string> {
  const dir = imageCacheDir('go-tools', `${tools.name}-${tools.version}${STRIPPED_SUFFIX}`);
  const binaries = tools.packages.map((p) => path.basename(p || tools.module));
  if (await allExecutable(dir, binaries)) return dir;
  await mkdir(path.dirname(dir), { recursive: true });
  const staging = await mkdtemp(`${dir}.building-`);
  try {
    const started = Date.now();
    progress?.(`building ${tools.name} ${tools.version} from the Go module proxy`);
    const targets = tools.packages.map(
      (p) => `${p ? `${tools.module}/${p}` : tools.module}@${tools.version}`,
    );
    await runCommand(
      'go',
      [
        'install',
        '-trimpath',
        `-ldflags=${STRIP_LDFLAGS}`,
        ...(tools.tags ? [`-tags=${tools.tags.join(',')}`] : []),
        ...targets,
      ],
      {
        env: { ...process.env, GOBIN: staging, CGO_ENABLED: '0', GOFLAGS: '-buildvcs=false' },
      },
    );
    await rename(staging, dir).catch(async (cause: unknown) => {
      if (!(await allExecutable(dir, binaries)))
        throw new Error(`could not publish ${staging} as ${dir}`, { cause });
    });
    progress?.(`built ${tools.name} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    return dir;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** The wrapper module that builds the Kubernetes node binaries (test-support/kind-node/kubernetes). */
export const KUBERNETES_NODE_MODULE_DIR = fileURLToPath(
  new URL('../../kind-node/kubernetes/', import.meta.url),
);
const KUBERNETES_NODE_TOOLS = [
  'kube-apiserver',
  'kubelet',
  'kubeadm',
  'kube-controller-manager',
  'kube-scheduler',
  'kube-proxy',
].map((binary) => ({
  binary,
  goPackage: `k8s.io/kubernetes/cmd/${binary}`,
}));

/**
 * The version a release build stamps into Kubernetes binaries (hack/lib/version.sh): without it
 * they report v0.0.0-master, and kubeadm, kubelet and Helm's kubeVersion checks refuse them.
 */
function kubernetesVersionLdflags(version: string): string {
  const [major = '', minor = ''] = version.replace(/^v/, '').split('.');
  const vars = {
    gitVersion: version,
    gitMajor: major,
    gitMinor: minor,
    gitTreeState: 'clean',
    buildDate: '1970-01-01T00:00:00Z',
  };
  const sets = Object.entries(vars).flatMap(([k, v]) =>
    ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version'].map((pkg) => `-X ${pkg}.${k}=${v}`),
  );
  return sets.join(' ');
}

/**
 * kube-apiserver, kubelet, kubeadm, kube-controller-manager, kube-scheduler and kube-proxy, the
 * control plane's version, stamped with it (the test control plane's own kube-apiserver is not)
 * and stripped like every tool built here.
 */
export async function ensureKubernetesNodeBinaries(
  progress?: (line: string) => void,
): Promise<{ dir: string; version: string }> {
  const { kubernetes } = await pinnedVersions();
  const digest = await digestOfFiles(KUBERNETES_NODE_MODULE_DIR, ['go.mod', 'go.sum']);
  const dir = imageCacheDir('go-tools', `kubernetes-node-${kubernetes}-${digest}-stamped`);
  if (
    !(await allExecutable(
      dir,
      KUBERNETES_NODE_TOOLS.map((t) => t.binary),
    ))
  ) {
    await ensureGoTools(
      {
        moduleDir: KUBERNETES_NODE_MODULE_DIR,
        tools: KUBERNETES_NODE_TOOLS,
        dir,
        firstBuild: 'several minutes on 2 cores',
        ldflags: kubernetesVersionLdflags(kubernetes),
      },
      progress ? { progress } : {},
    );
  }
  return { dir, version: kubernetes };
}

/**
 * CoreDNS with kubeadm's plugins only (kind-node/kubernetes/coredns), built in the node binaries'
 * module so that it reuses their compiled client-go, gRPC and protobuf; cached by that module's
 * go.mod, go.sum and the CoreDNS main.go.
 */
export async function ensureCoreDns(progress?: (line: string) => void): Promise<string> {
  const digest = await digestOfFiles(KUBERNETES_NODE_MODULE_DIR, ['go.mod', 'go.sum', 'coredns/main.go']);
  const dir = imageCacheDir('go-tools', `coredns-${COREDNS_VERSION}-${digest}`);
  const tool = { binary: 'coredns', goPackage: 'wasmfleet.io/kindnode/kubernetes/coredns' };
  if (!(await allExecutable(dir, [tool.binary])))
    await ensureGoTools(
      {
        moduleDir: KUBERNETES_NODE_MODULE_DIR,
        tools: [tool],
        dir,
        firstBuild: 'about a minute after the node binaries',
      },
      progress ? { progress } : {},
    );
  return dir;
}

async function allExecutable(dir: string, binaries: readonly string[]): Promise<boolean> {
  try {
    await Promise.all(binaries.map((b) => access(path.join(dir, b), constants.X_OK)));
    return true;
  } catch {
    return false;
  }
}

/**
 * The version of every module a go.mod requires, a `replace` winning over its `require`. After
 * `go mod tidy` these are all the modules whose packages a build of the module compiles.
 */
export function goModVersions(goMod: string): Map<string, string> {
  const required = new Map<string, string>();
  const replaced = new Map<string, string>();
  let block: 'require' | 'replace' | undefined;
  for (const raw of goMod.split('\n')) {
    const line = raw.replace(/\/\/.*$/, '').trim();
    if (line === ')') block = undefined;
    const opened = /^(require|replace)\s*\($/.exec(line);
    if (opened) block = opened[1] as 'require' | 'replace';
    const single = /^(require|replace)\s+(.+)$/.exec(line);
    const kind = opened ? undefined : single ? single[1] : block;
    const body = single && !opened ? (single[2] ?? '') : line;
    if (kind === 'require') {
      const [module, version] = body.split(/\s+/);
      if (module && version) required.set(module, version);
    } else if (kind === 'replace' && body.includes('=>')) {
      const [from = '', to = ''] = body.split('=>');
      const module = from.trim().split(/\s+/)[0];
      const version = to.trim().split(/\s+/)[1];
      if (module && version) replaced.set(module, version);
    }
  }
  return new Map([...required].map(([module, version]) => [module, replaced.get(module) ?? version]));
}
