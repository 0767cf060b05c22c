// SPDX-License-Identifier: Apache-2.0
// Which installed packages a program loads at run time: the closure of some root packages over
// their dependencies, resolved the way Node resolves them (a package's own node_modules first,
// then each enclosing one), minus packages named as never loaded. The images copy only these
// from one full `npm ci` (scripts/image/runtime-node-modules.ts). Pure: the tree is read through
// the two functions passed in.

export interface PackageManifest {
  readonly dependencies?: Readonly<Record<string, string>>;
  readonly optionalDependencies?: Readonly<Record<string, string>>;
  readonly peerDependencies?: Readonly<Record<string, string>>;
  readonly peerDependenciesMeta?: Readonly<Record<string, { readonly optional?: boolean }>>;
}

export interface InstalledTree {
  /** The manifest of the package installed at `dir` (relative to the tree root), or undefined. */
  readonly manifest: (dir: string) => PackageManifest | undefined;
  /**
   * Where `dir`'s package sees its own dependencies from: itself, or the workspace folder a
   * node_modules symlink points at (relative to the tree root).
   */
  readonly realDir: (dir: string) => string;
}

export interface ClosureRequest {
  /** Package names the program imports (resolved from the tree root). */
  readonly roots: readonly string[];
  /** Packages a root depends on that the program never loads, with the reason kept by the caller. */
  readonly neverLoaded?: readonly string[];
}

export interface Closure {
  /** Installed package directories (e.g. node_modules/a, node_modules/a/node_modules/b), sorted. */
  readonly packages: readonly string[];
  /** Required (not optional) dependencies that are not installed anywhere Node would look. */
  readonly missing: readonly string[];
}

/** The node_modules directories Node searches for `name` from a package in `dir`, nearest first. */
export function searchPath(dir: string, name: string): string[] {
  const parts = dir.split('/').filter(Boolean);
  const candidates: string[] = [];
  for (let i = parts.length; i >= 0; i--) {
    if (i > 0 && parts[i - 1] === 'node_modules') continue;
    const base = parts.slice(0, i);
    // A scoped package's folder (node_modules/@scope) is not a package of its own.
    if (i > 0 && parts[i - 2] === 'node_modules' && parts[i - 1]?.startsWith('@')) continue;
    candidates.push([...base, 'node_modules', name].join('/'));
  }
  return candidates;
}

function dependenciesOf(manifest: PackageManifest): { name: string; optional: boolean }[] {
  const peersOptional = manifest.peerDependenciesMeta ?? {};
  return [
    ...Object.keys(manifest.dependencies ?? {}).map((name) => ({ name, optional: false })),
    ...Object.keys(manifest.optionalDependencies ?? {}).map((name) => ({ name, optional: true })),
    ...Object.keys(manifest.peerDependencies ?? {}).map((name) => ({
      name,
      optional: peersOptional[name]?.optional === true,
    })),
  ];
}

/** The packages `request.roots` load, transitively. */
export function runtimeClosure(tree: InstalledTree, request: ClosureRequest): Closure {
  const never = new Set(request.neverLoaded ?? []);
  const found = new Set<string>();
  const missing = new Set<string>();
  const visit = (fromDir: string, name: string, optional: boolean, requiredBy: string): void => {
    if (never.has(name) || name.startsWith('@types/')) return;
    const dir = searchPath(fromDir, name).find((candidate) => tree.manifest(candidate) !== undefined);
    if (dir === undefined) {
      if (!optional) missing.add(`${name} (required by ${requiredBy})`);
      return;
    }
    if (found.has(dir)) return;
    found.add(dir);
    const manifest = tree.manifest(dir);
    const real = tree.realDir(dir);
    for (const dep of dependenciesOf(manifest ?? {})) visit(real, dep.name, dep.optional, name);
  };
  for (const root of request.roots) visit('', root, false, 'the program');
  return { packages: [...found].sort(), missing: [...missing].sort() };
}
