// SPDX-License-Identifier: Apache-2.0
// Source (c): an OCI artifact. Tag (or digest) → manifest (through an index when needed) →
// the wasm layer → its blob, with every digest checked and the size limit applied before the
// blob is downloaded.
import { formatBytes } from '@wasmfleet/api';
import type { ModuleCache } from '../cache.ts';
import { assertDigest, parseDigest, readCapped, tooLarge } from '../digest.ts';
import { discard, networkFailure } from '../http.ts';
import { ModuleResolutionError, type ResolvedModule } from '../types.ts';
import { assertWasm } from '../wasm.ts';
import type { RegistryCredentials } from './auth.ts';
import { RegistryClient, registryFailure, usesPlainHttp } from './client.ts';
import {
  MANIFEST_ACCEPT,
  parseManifest,
  selectFromIndex,
  selectWasmLayer,
  type ParsedManifest,
} from './manifest.ts';
import { formatReference, manifestReference, parseOciReference, type OciReference } from './reference.ts';

export interface OciPullOptions {
  readonly credentials?: RegistryCredentials | undefined;
  readonly credentialsFrom?: string | undefined;
  readonly maxBytes: number;
  readonly timeoutMs: number;
  readonly plainHttpRegistries?: readonly string[] | undefined;
  /** `spec.module.sha256` when set: the module (layer) digest must be this. */
  readonly expectedSha256?: string | undefined;
  readonly cache?: ModuleCache | undefined;
}

export interface OciPullResult {
  readonly module: ResolvedModule;
  /** Digest of the manifest the reference resolved to (what a tag pointed at this time). */
  readonly manifestDigest: string;
  readonly cached: boolean;
}

const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

interface FetchedManifest {
  readonly digest: string;
  readonly parsed: ParsedManifest;
  /** The bytes as served: what a cosign signature's payload names by digest. */
  readonly bytes: Uint8Array;
}

async function fetchManifest(
  client: RegistryClient,
  ref: OciReference,
  reference: string,
  shown: string,
): Promise<FetchedManifest> {
  const where = `${shown}: manifest ${reference}`;
  const response = await client.request(
    `/v2/${ref.repository}/manifests/${reference}`,
    `pulling ${ref.repository}`,
    {
      headers: { accept: MANIFEST_ACCEPT },
    },
  );
  if (!response.ok) {
    throw await registryFailure(
      response,
      `${shown}: registry ${ref.registry}`,
      reference.startsWith('sha256:')
        ? `no manifest ${reference} in repository ${ref.repository}`
        : `no tag "${reference}" in repository ${ref.repository}: push it first (wasmfleet push) or fix the tag`,
    );
  }
  let body;
  try {
    body = await readCapped(response.body, MAX_MANIFEST_BYTES, where);
  } catch (error) {
    if (error instanceof ModuleResolutionError && error.reason === 'TooLarge') {
      throw new ModuleResolutionError(
        'InvalidSource',
        `${where} is larger than ${formatBytes(MAX_MANIFEST_BYTES)}; that is not a wasm artifact manifest`,
      );
    }
    throw networkFailure(error, where, client.deadline);
  }
  const digest = `sha256:${body.sha256}`;
  if (reference.startsWith('sha256:')) {
    assertDigest(
      reference.slice('sha256:'.length),
      body.sha256,
      where,
      'the registry served a different manifest than the one pinned',
    );
  }
  return {
    digest,
    parsed: parseManifest(body.bytes, response.headers.get('content-type') ?? undefined, where),
    bytes: body.bytes,
  };
}

export function ociSourceKey(ref: OciReference): string {
  return `oci ${ref.registry}/${ref.repository}`;
}

export async function pullOciModule(raw: string, options: OciPullOptions): Promise<OciPullResult> {
  const ref = parseOciReference(raw);
  const shown = `module.oci ${formatReference(ref)}`;
  const sourceKey = ociSourceKey(ref);
  const fromCache = (digest: string): OciPullResult | undefined => {
    const module = options.cache?.get(sourceKey, digest);
    if (module === undefined) return undefined;
    if (options.expectedSha256 !== undefined) {
      assertDigest(
        options.expectedSha256,
        module.sha256,
        shown,
        'the artifact does not hold the module module.sha256 pins',
      );
    }
    return { module, manifestDigest: digest, cached: true };
  };
  // A digest reference is immutable: a cached resolution needs no network at all.
  if (ref.digest !== undefined) {
    const hit = fromCache(ref.digest);
    if (hit) return hit;
  }

  const client = new RegistryClient({
    registry: ref.registry,
    scope: `repository:${ref.repository}:pull`,
    credentials: options.credentials,
    credentialsFrom: options.credentialsFrom,
    plainHttp: usesPlainHttp(ref.registry, options.plainHttpRegistries),
    timeoutMs: options.timeoutMs,
  });

  const top = await fetchManifest(client, ref, manifestReference(ref), shown);
  // A tag costs one small manifest request per resolution; the blob only when the tag moved.
  const hit = fromCache(top.digest);
  if (hit) return hit;

  let manifest = top.parsed;
  if (manifest.kind === 'index') {
    const entry = selectFromIndex(manifest.manifests, shown);
    manifest = (await fetchManifest(client, ref, entry.digest, shown)).parsed;
    if (manifest.kind !== 'manifest') {
      throw new ModuleResolutionError(
        'InvalidSource',
        `${shown}: the index entry ${entry.digest} is itself an index; nested indexes are not supported`,
      );
    }
  }
  const layer = selectWasmLayer(manifest, shown);
  const layerHex = parseDigest(layer.digest);
  if (layerHex === undefined) {
    throw new ModuleResolutionError(
      'InvalidSource',
      `${shown}: the wasm layer has digest "${layer.digest}"; only sha256 digests are supported`,
    );
  }
  if (layer.size > options.maxBytes)
    throw tooLarge(shown, options.maxBytes, `its wasm layer is ${formatBytes(layer.size)}`);
  if (options.expectedSha256 !== undefined) {
    assertDigest(
      options.expectedSha256,
      layerHex,
      shown,
      'the tag now points at a different module than module.sha256 pins; update module.sha256 or pin the reference by digest',
    );
  }

  const where = `${shown}: blob ${layer.digest}`;
  const response = await client.request(
    `/v2/${ref.repository}/blobs/${layer.digest}`,
    `pulling ${ref.repository}`,
  );
  if (!response.ok)
    throw await registryFailure(
      response,
      `${where}: registry ${ref.registry}`,
      'the manifest names a blob the registry does not have',
    );
  const announced = Number(response.headers.get('content-length') ?? Number.NaN);
  if (Number.isFinite(announced) && announced > options.maxBytes) {
    await discard(response);
    throw tooLarge(where, options.maxBytes, `the registry announced ${formatBytes(announced)}`);
  }
  let body;
  try {
    body = await readCapped(response.body, options.maxBytes, where);
  } catch (error) {
    throw networkFailure(error, where, client.deadline);
  }
  assertDigest(
    layerHex,
    body.sha256,
    where,
    'the registry served corrupted content; it will be fetched again on the next attempt',
  );
  const kind = assertWasm(body.bytes, where);
  const module: ResolvedModule = {
    sha256: body.sha256,
    size: body.bytes.byteLength,
    bytes: body.bytes,
    mediaType: layer.mediaType,
    kind,
    // Signatures name the top-level manifest; the chain to the layer is checked on the device,
    // which needs these bytes (an index would need a second link: not supported, ADR 0011).
    ...(top.parsed.kind === 'manifest' ? { ociManifest: { digest: top.digest, bytes: top.bytes } } : {}),
  };
  options.cache?.set(sourceKey, top.digest, module);
  return { module, manifestDigest: top.digest, cached: false };
}
