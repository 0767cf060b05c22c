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

function cacheRoot(): string {
  if (process.env.WASMFLEET_CACHE_DIR) return process.env.WASMFLEET_CACHE_DIR;
  return path.join(process.env.XDG_CACHE_HOME ?? path.join(homedir(), '.cache'), 'wasmfleet');
}

/** Versions pinned by the wrapper's go.mod, plus a digest of go.mod + go.sum for the cache key. */
export async function pinnedVersions(): Promise<{ kubernetes: string; etcd: string; digest: string }> {
  const goMod = await readFile(path.join(WRAPPER_MODULE_DIR, 'go.mod'), 'utf8');
  const goSum = await readFile(path.join(WRAPPER_MODULE_DIR, 'go.sum'), 'utf8');
  const version = (module: string): string => {
    const match = new RegExp(`^\\s*${module.replaceAll('.', '\\.')} (v[^\\s]+)`, 'm').exec(goMod);
    if (!match?.[1]) throw new Error(`${module} is not required in ${WRAPPER_MODULE_DIR}go.mod`);
    return match[1];
  };
  const digest = createHash('sha256').update(goMod).update(goSum).digest('hex').slice(0, 12);
  return { kubernetes: version('k8s.io/kubernetes'), etcd: version('go.etcd.io/etcd/server/v3'), digest };
}

async function allPresent(dir: string): Promise<boolean> {
  try {
    await Promise.all(TOOLS.map((t) => access(path.join(dir, t.binary), constants.X_OK)));
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

  await mkdir(path.dirname(dir), { recursive: true });
  const staging = await mkdtemp(`${dir}.building-`);
  const progress = options.progress ?? (() => undefined);
  try {
    await run('go', ['version']).catch((cause: unknown) => {
      throw new Error('Go is needed to build kube-apiserver, etcd and kubectl; install Go ≥ 1.26 and retry', {
        cause,
      });
    });
    for (const tool of TOOLS) {
      const started = Date.now();
      progress(`building ${tool.binary} (${tool.goPackage}) — the first build takes a few minutes`);
      await run('go', ['build', '-trimpath', '-o', path.join(staging, tool.binary), tool.goPackage], {
        cwd: WRAPPER_MODULE_DIR,
        env: { ...process.env, GOFLAGS: '-buildvcs=false', CGO_ENABLED: '0' },
        maxBuffer: 64 * 1024 * 1024,
      }).catch((cause: unknown) => {
        const stderr = (cause as { stderr?: string }).stderr ?? '';
        throw new Error(`go build ${tool.goPackage} failed:\n${stderr.slice(-4000)}`, { cause });
      });
      progress(`built ${tool.binary} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
    // Atomic publish: concurrent builders race harmlessly; the first rename wins.
    await rename(staging, dir).catch(async (error: unknown) => {
      if (await allPresent(dir)) return;
      throw error;
    });
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return describe(dir, 'built');
}
