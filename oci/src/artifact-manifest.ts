// SPDX-License-Identifier: Apache-2.0
// Pure OCI manifest handling for wasm artifacts: which media types we accept, how a wasm layer
// is picked out of a manifest (or a manifest out of an index), and what `push` writes.
import { ModuleResolutionError } from './resolution-error.ts';
import type { WasmKind } from './resolved-module.ts';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';

/** The CNCF wasm OCI artifact layout: artifactType and config media type. */
export const WASM_CONFIG = 'application/vnd.wasm.config.v0+json';
export const WASM_LAYER = 'application/wasm';
/** Layer types written by other wasm tools (wasm-to-oci and runwasi-style images). */
export const WASM_LAYER_TYPES: readonly string[] = [
  WASM_LAYER,
  'application/vnd.wasm.content.layer.v1+wasm',
  'application/vnd.module.wasm.content.layer.v1+wasm',
];

export const MANIFEST_ACCEPT = [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST].join(', ');

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly platform?: { readonly os?: string; readonly architecture?: string };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function asDescriptor(v: unknown): Descriptor | undefined {
  if (!isRecord(v)) return undefined;
  if (typeof v.mediaType !== 'string' || typeof v.digest !== 'string' || typeof v.size !== 'number')
    return undefined;
  const platform = isRecord(v.platform)
    ? {
        ...(typeof v.platform.os === 'string' ? { os: v.platform.os } : {}),
        ...(typeof v.platform.architecture === 'string' ? { architecture: v.platform.architecture } : {}),
      }
    : undefined;
  return { mediaType: v.mediaType, digest: v.digest, size: v.size, ...(platform ? { platform } : {}) };
}

export type ParsedManifest =
  | { readonly kind: 'index'; readonly manifests: readonly Descriptor[] }
  | {
      readonly kind: 'manifest';
      readonly artifactType: string | undefined;
      readonly config: Descriptor | undefined;
      readonly layers: readonly Descriptor[];
    };

/** Parses manifest JSON; the media type comes from the body, falling back to Content-Type. */
export function parseManifest(
  bytes: Uint8Array,
  contentType: string | undefined,
  where: string,
): ParsedManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (error) {
    throw new ModuleResolutionError(
      'InvalidSource',
      `${where}: the registry returned a manifest that is not JSON`,
      { cause: error },
    );
  }
  if (!isRecord(doc))
    throw new ModuleResolutionError('InvalidSource', `${where}: the manifest is not a JSON object`);
  const mediaType =
    typeof doc.mediaType === 'string' ? doc.mediaType : (contentType?.split(';')[0]?.trim() ?? '');
  if (
    mediaType === OCI_INDEX ||
    mediaType === DOCKER_MANIFEST_LIST ||
    (mediaType === '' && Array.isArray(doc.manifests))
  ) {
    const manifests = Array.isArray(doc.manifests)
      ? doc.manifests.map(asDescriptor).filter((d) => d !== undefined)
      : [];
    return { kind: 'index', manifests };
  }
  if (
    mediaType === OCI_MANIFEST ||
    mediaType === DOCKER_MANIFEST ||
    (mediaType === '' && Array.isArray(doc.layers))
  ) {
    const layers = Array.isArray(doc.layers)
      ? doc.layers.map(asDescriptor).filter((d) => d !== undefined)
      : [];
    return {
      kind: 'manifest',
      artifactType: typeof doc.artifactType === 'string' ? doc.artifactType : undefined,
      config: asDescriptor(doc.config),
      layers,
    };
  }
  throw new ModuleResolutionError(
    'InvalidSource',
    `${where}: unsupported manifest media type "${mediaType || '(none)'}"; expected an OCI image manifest holding a wasm layer`,
  );
}

/**
 * Picks the wasm entry of an index: platform os `wasi*`/`wasip*` or architecture `wasm`; a
 * single entry is taken as is. Anything else is ambiguous and refused rather than guessed.
 */
export function selectFromIndex(manifests: readonly Descriptor[], where: string): Descriptor {
  const wasm = manifests.filter(
    (m) => m.platform?.architecture === 'wasm' || (m.platform?.os ?? '').startsWith('wasi'),
  );
  const chosen = wasm[0] ?? (manifests.length === 1 ? manifests[0] : undefined);
  if (chosen !== undefined) return chosen;
  const platforms = manifests
    .map((m) => `${m.platform?.os ?? '?'}/${m.platform?.architecture ?? '?'}`)
    .join(', ');
  throw new ModuleResolutionError(
    'NotWasm',
    `${where} is an index of ${manifests.length} manifests (${platforms || 'none'}) and none is for wasm (os wasip1/wasip2 or architecture wasm); point module.oci at a wasm artifact`,
  );
}

/** The wasm layer of a manifest: the first layer with a wasm media type. */
export function selectWasmLayer(
  manifest: Extract<ParsedManifest, { kind: 'manifest' }>,
  where: string,
): Descriptor {
  const layer = manifest.layers.find((l) => WASM_LAYER_TYPES.includes(l.mediaType));
  if (layer !== undefined) return layer;
  const found = manifest.layers.map((l) => l.mediaType).join(', ') || 'no layers';
  const looksLikeImage = manifest.layers.some((l) => l.mediaType.includes('tar'));
  throw new ModuleResolutionError(
    'NotWasm',
    `${where} has no wasm layer (found ${found}; expected ${WASM_LAYER_TYPES.join(' or ')})${looksLikeImage ? '; it looks like a container image, not a wasm artifact' : ''}. Push modules with wasmfleet push`,
  );
}

/**
 * The config blob for a pushed module. No timestamps, so pushing the same bytes twice gives the
 * same manifest digest (reproducible, and re-pushes are no-ops for the registry).
 */
export function wasmConfig(kind: WasmKind, layerDigest: string): Uint8Array {
  return Buffer.from(
    JSON.stringify({
      architecture: 'wasm',
      os: kind === 'component' ? 'wasip2' : 'wasip1',
      layerDigests: [layerDigest],
    }),
    'utf8',
  );
}

export function wasmManifest(
  config: Descriptor,
  layer: Descriptor,
  annotations?: Readonly<Record<string, string>>,
): Uint8Array {
  const doc = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: WASM_CONFIG,
    config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
    layers: [{ mediaType: layer.mediaType, digest: layer.digest, size: layer.size }],
    ...(annotations !== undefined && Object.keys(annotations).length > 0 ? { annotations } : {}),
  };
  return Buffer.from(JSON.stringify(doc), 'utf8');
}
