// SPDX-License-Identifier: Apache-2.0
// What a release build records about each architecture's artifacts (<stem>.json beside them):
// enough to verify them and to fill an AgentRollout's spec.artifacts.
import type { ReleaseArch } from './targets.ts';

export interface ArtifactFiles {
  readonly file: string;
  readonly sha256: string;
  readonly size: number;
  /** Base64 Ed25519 signature of the file's checksum line (api/src/signing/release.ts). */
  readonly signature: string;
}

export interface ReleaseManifest {
  readonly version: string;
  readonly arch: ReleaseArch;
  readonly nodeVersion: string;
  readonly keyId: string;
  readonly throwawayKey: boolean;
  readonly tarball: ArtifactFiles;
  readonly deb?: ArtifactFiles;
}
