// SPDX-License-Identifier: Apache-2.0
// Finds or builds the real control-plane binaries: kube-apiserver, etcd and kubectl.
//
// None of them ships in a package registry we can reach, so they are compiled from the Go module
// proxy through the wrapper module in test-support/controlplane (see docs/control-plane.md), and
// cached per (versions, go.sum) outside the repository. Users who already have envtest binaries
// point KUBEBUILDER_ASSETS at them and nothing is built.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { access, mkdir, mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { constants } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const WRAPPER_MODULE_DIR = fileURLToPath(new URL('../../controlplane/', import.meta.url));
/** The wrapper module that builds `helm` (kept apart so Helm's client-go never meets the API server's). */
export const HELM_MODULE_DIR = fileURLToPath(new URL('../../helm/', import.meta.url));

export interface ControlPlaneBinaries {
  readonly dir: string;
  readonly kubeApiserver: string;
  readonly etcd: string;
  readonly kubectl: string;
  /** 'KUBEBUILDER_ASSETS', 'cache' or 'built' — for logs and docs/control-plane.md's timings. */
  readonly source: 'KUBEBUILDER_ASSETS' | 'cache' | 'built';
}

interface Tool {
  readonly binary: 'kube-apiserver' | 'etcd' | 'kubectl';
  readonly goPackage: string;
}

const TOOLS: readonly Tool[] = [
  { binary: 'kube-apiserver', goPackage: 'k8s.io/kubernetes/cmd/kube-apiserver' },
  { binary: 'etcd', goPackage: 'go.etcd.io/etcd/server/v3' },
  { binary: 'kubectl', goPackage: 'k8s.io/kubernetes/cmd/kubectl' },
];

export function cacheRoot(): string {
  if (process.env.WASMFLEET_CACHE_DIR) return process.env.WASMFLEET_CACHE_DIR;
  return path.join(process.env.XDG_CACHE_HOME ?? path.join(homedir(), '.cache'), 'wasmfleet');
}

/** Versions pinned by the wrapper's go.mod, plus a digest of go.mod + go.sum for the cache key. */
export async function pinnedVersions(): Promise<{ kubernetes: string; etcd: string; digest: string }> {
  const pins = await wrapperPins(WRAPPER_MODULE_DIR, ['k8s.io/kubernetes', 'go.etcd.io/etcd/server/v3']);
  return {
    kubernetes: pins.version('k8s.io/kubernetes'),
    etcd: pins.version('go.etcd.io/etcd/server/v3'),
    digest: pins.digest,
  };
}

/** Reads a wrapper module's go.mod/go.sum: the versions of `modules` and a cache-key digest. */
async function wrapperPins(
  moduleDir: string,
  modules: readonly string[],
): Promise<{ version: (module: string) => string; digest: string }> {
  const goMod = await readFile(path.join(moduleDir, 'go.mod'), 'utf8');
  const goSum = await readFile(path.join(moduleDir, 'go.sum'), 'utf8');
  const versions = new Map<string, string>();
  for (const module of modules) {
    const match = new RegExp(`^\\s*${module.replaceAll('.', '\\.')} (v[^\\s]+)`, 'm').exec(goMod);
    if (!match?.[1]) throw new Error(`${module} is not required in ${moduleDir}go.mod`);
    versions.set(module, match[1]);
  }
  const digest = createHash('sha256').update(goMod).update(goSum).digest('hex').slice(0, 12);
  return {
    version: (module) => {
      const v = versions.get(module);
      if (v === undefined) throw new Error(`${module} was not read from ${moduleDir}go.mod`);
      return v;
    },
    digest,
  };
}

async function allPresent(
  dir: string,
  tools: readonly { readonly binary: string }[] = TOOLS,
): Promise<boolean> {
  try {
    await Promise.all(tools.map((t) => access(path.join(dir, t.binary), constants.X_OK)));
    return true;
  } catch {
    return false;
  }
}

function describe(dir: string, source: ControlPlaneBinaries['source']): ControlPlaneBinaries {
  return {
    dir,
    source,
    kubeApiserver: path.join(dir, 'kube-apiserver'),
    etcd: path.join(dir, 'etcd'),
    kubectl: path.join(dir, 'kubectl'),
  };
}

export interface EnsureOptions {
  /** Called with one line per step of a build, so a first run shows progress. */
  readonly progress?: (line: string) => void;
}

export async function ensureControlPlaneBinaries(options: EnsureOptions = {}): Promise<ControlPlaneBinaries> {
  const assets = process.env.KUBEBUILDER_ASSETS;
  if (assets) {
    if (await allPresent(assets)) return describe(assets, 'KUBEBUILDER_ASSETS');
    throw new Error(
      `KUBEBUILDER_ASSETS=${assets} must contain executable kube-apiserver, etcd and kubectl; ` +
        'unset it to have WasmFleet build them from the Go module proxy',
    );
  }
  const { kubernetes, etcd, digest } = await pinnedVersions();
  const dir = path.join(cacheRoot(), 'control-plane', `k8s-${kubernetes}-etcd-${etcd}-${digest}`);
  if (await allPresent(dir)) return describe(dir, 'cache');

  await buildGoTools(WRAPPER_MODULE_DIR, TOOLS, dir, options.progress);
  return describe(dir, 'built');
}

/**
 * Builds `tools` from the wrapper module in `moduleDir` into `dir`: into a staging directory
 * first, then published with one rename so a reader never sees half a set and concurrent
 * builders race harmlessly (the first rename wins).
 */
export async function buildGoTools(
  moduleDir: string,
  tools: readonly { readonly binary: string; readonly goPackage: string }[],
  dir: string,
  onProgress: ((line: string) => void) | undefined,
  ldflags?: string,
): Promise<void> {
  await mkdir(path.dirname(dir), { recursive: true });
  const staging = await mkdtemp(`${dir}.building-`);
  const progress = onProgress ?? (() => undefined);
  try {
    await run('go', ['version']).catch((cause: unknown) => {
      const names = tools.map((t) => t.binary).join(', ');
      throw new Error(`Go is needed to build ${names}; install Go ≥ 1.26 and retry`, { cause });
    });
    for (const tool of tools) {
      const started = Date.now();
      progress(`building ${tool.binary} (${tool.goPackage}) — the first build takes a few minutes`);
      const flags = ldflags ? [`-ldflags=${ldflags}`] : [];
      await run(
        'go',
        ['build', '-trimpath', ...flags, '-o', path.join(staging, tool.binary), tool.goPackage],
        {
          cwd: moduleDir,
          env: { ...process.env, GOFLAGS: '-buildvcs=false', CGO_ENABLED: '0' },
          maxBuffer: 64 * 1024 * 1024,
        },
      ).catch((cause: unknown) => {
        const stderr = (cause as { stderr?: string }).stderr ?? '';
        throw new Error(`go build ${tool.goPackage} failed:\n${stderr.slice(-4000)}`, { cause });
      });
      progress(`built ${tool.binary} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
    await rename(staging, dir).catch(async (error: unknown) => {
      if (await allPresent(dir, tools)) return;
      throw new Error(`could not publish ${staging} as ${dir}`, { cause: error });
    });
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

const HELM_TOOL = { binary: 'helm', goPackage: 'helm.sh/helm/v4/cmd/helm' } as const;

export interface HelmBinary {
  /** Absolute path of the helm executable. */
  readonly helm: string;
  /** The helm.sh/helm module version it was built from ('unknown' for WASMFLEET_HELM). */
  readonly version: string;
  readonly source: 'WASMFLEET_HELM' | 'cache' | 'built';
}

/**
 * Finds or builds the real `helm` used by the chart tests, from test-support/helm/go.mod, cached
 * like the control-plane binaries. WASMFLEET_HELM=/path/to/helm uses a helm you already have
 * (a helm on PATH is deliberately not picked up: its major version may differ from the pinned one).
 */
export async function ensureHelmBinary(options: EnsureOptions = {}): Promise<HelmBinary> {
  const own = process.env.WASMFLEET_HELM;
  if (own) {
    try {
      await access(own, constants.X_OK);
    } catch (cause) {
      throw new Error(
        `WASMFLEET_HELM=${own} is not an executable helm; unset it to build helm from the Go module proxy`,
        {
          cause,
        },
      );
    }
    return { helm: own, version: 'unknown', source: 'WASMFLEET_HELM' };
  }
  const pins = await wrapperPins(HELM_MODULE_DIR, ['helm.sh/helm/v4']);
  const version = pins.version('helm.sh/helm/v4');
  const dir = path.join(cacheRoot(), 'helm', `helm-${version}-${pins.digest}`);
  const describeHelm = (source: HelmBinary['source']): HelmBinary => ({
    helm: path.join(dir, HELM_TOOL.binary),
    version,
    source,
  });
  if (await allPresent(dir, [HELM_TOOL])) return describeHelm('cache');
  await buildGoTools(HELM_MODULE_DIR, [HELM_TOOL], dir, options.progress);
  return describeHelm('built');
}

const COSIGN_TOOL = { binary: 'cosign', goPackage: 'github.com/sigstore/cosign/v3/cmd/cosign' } as const;
/** The wrapper module that builds `cosign` for the module-signing tests. */
export const COSIGN_MODULE_DIR = fileURLToPath(new URL('../../cosign/', import.meta.url));

export interface CosignBinary {
  /** Absolute path of the cosign executable. */
  readonly cosign: string;
  /** The github.com/sigstore/cosign/v3 module version it was built from ('unknown' for WASMFLEET_COSIGN). */
  readonly version: string;
  readonly source: 'WASMFLEET_COSIGN' | 'cache' | 'built';
}

/**
 * Finds or builds the real `cosign` the signing tests sign OCI artifacts with, from
 * test-support/cosign/go.mod, cached like helm. WASMFLEET_COSIGN=/path/to/cosign uses one you
 * already have (its major version must be the pinned one: the tests assert on what it writes).
 */
export async function ensureCosignBinary(options: EnsureOptions = {}): Promise<CosignBinary> {
  const own = process.env.WASMFLEET_COSIGN;
  if (own) {
    try {
      await access(own, constants.X_OK);
    } catch (cause) {
      throw new Error(
        `WASMFLEET_COSIGN=${own} is not an executable cosign; unset it to build cosign from the Go module proxy`,
        { cause },
      );
    }
    return { cosign: own, version: 'unknown', source: 'WASMFLEET_COSIGN' };
  }
  const pins = await wrapperPins(COSIGN_MODULE_DIR, ['github.com/sigstore/cosign/v3']);
  const version = pins.version('github.com/sigstore/cosign/v3');
  const dir = path.join(cacheRoot(), 'cosign', `cosign-${version}-${pins.digest}`);
  const describeCosign = (source: CosignBinary['source']): CosignBinary => ({
    cosign: path.join(dir, COSIGN_TOOL.binary),
    version,
    source,
  });
  if (await allPresent(dir, [COSIGN_TOOL])) return describeCosign('cache');
  await buildGoTools(COSIGN_MODULE_DIR, [COSIGN_TOOL], dir, options.progress);
  return describeCosign('built');
}
