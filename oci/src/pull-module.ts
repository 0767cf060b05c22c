// SPDX-License-Identifier: Apache-2.0
// Source (c): an OCI artifact. Tag (or digest) → manifest (through an index when needed) →
// the wasm layer → its blob, with every digest checked and the size limit applied before the
// blob is downloaded.
import { formatBytes } from '@wasmfleet/api';
import { assertDigest, parseDigest, readCapped, tooLarge, type CappedBody } from './digest.ts';
import { discard, networkFailure } from './http-fetch.ts';
import { ModuleResolutionError } from './resolution-error.ts';
import type { ResolvedModule, WasmKind } from './resolved-module.ts';
import { assertWasm } from './wasm-preamble.ts';
import type { RegistryCredentials } from './registry-auth.ts';
import { RegistryClient, registryFailure, usesPlainHttp } from './registry-client.ts';
import {
  MANIFEST_ACCEPT,
  parseManifest,
  selectFromIndex,
  selectWasmLayer,
  type ParsedManifest,
} from './artifact-manifest.ts';
import { formatReference, manifestReference, parseOciReference, type OciReference } from './oci-reference.ts';

/** Where resolutions are remembered by (source, digest): the operator's ModuleCache. */
export interface PulledModuleCache {
  get(source: string, digest: string): ResolvedModule | undefined;
  set(source: string, digest: string, module: ResolvedModule): void;
}

export interface OciPullOptions {
  readonly credentials?: RegistryCredentials | undefined;
  readonly credentialsFrom?: string | undefined;
  readonly maxBytes: number;
  readonly timeoutMs: number;
  readonly plainHttpRegistries?: readonly string[] | undefined;
  /** `spec.module.sha256` when set: the module (layer) digest must be this. */
  readonly expectedSha256?: string | undefined;
  readonly cache?: PulledModuleCache | undefined;
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

/**
 * The wasm layer of the artifact (through an index when needed), with its sha256 hex; refused
 * before any download when it is too large or not the module `module.sha256` pins.
 */
async function wasmLayer(
  client: RegistryClient,
  ref: OciReference,
  top: ParsedManifest,
  shown: string,
  options: OciPullOptions,
): Promise<{ readonly digest: string; readonly hex: string; readonly mediaType: string }> {
  let manifest = top;
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
  return { digest: layer.digest, hex: layerHex, mediaType: layer.mediaType };
}

/** The layer's bytes, size-capped and checked against its digest, and what kind of wasm they are. */
async function downloadLayer(
  client: RegistryClient,
  ref: OciReference,
  layer: { readonly digest: string; readonly hex: string },
  shown: string,
  maxBytes: number,
): Promise<{ body: CappedBody; kind: WasmKind }> {
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
  if (Number.isFinite(announced) && announced > maxBytes) {
    await discard(response);
    throw tooLarge(where, maxBytes, `the registry announced ${formatBytes(announced)}`);
  }
  let body;
  try {
    body = await readCapped(response.body, maxBytes, where);
  } catch (error) {
    throw networkFailure(error, where, client.deadline);
  }
  assertDigest(
    layer.hex,
    body.sha256,
    where,
    'the registry served corrupted content; it will be fetched again on the next attempt',
  );
  return { body, kind: assertWasm(body.bytes, where) };
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
    plainHttpRegistries: options.plainHttpRegistries,
    timeoutMs: options.timeoutMs,
  });

  const top = await fetchManifest(client, ref, manifestReference(ref), shown);
  // A tag costs one small manifest request per resolution; the blob only when the tag moved.
  const hit = fromCache(top.digest);
  if (hit) return hit;

  const layer = await wasmLayer(client, ref, top.parsed, shown, options);
  const { body, kind } = await downloadLayer(client, ref, layer, shown, options.maxBytes);
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
