// SPDX-License-Identifier: Apache-2.0
// Cosign signatures of an OCI artifact, fetched to be passed on UNCHANGED to devices, which check
// them with their own keys (ADR 0011). The operator verifies nothing here: it only finds the
// material. Where cosign keeps it (cosign's specs/SIGNATURE_SPEC.md):
//
//   <repository>:sha256-<manifest hex>.sig   an OCI image manifest whose layers are simple-signing
//     payloads (application/vnd.dev.cosign.simplesigning.v1+json), each layer's signature in
//     its annotation dev.cosignproject.cosign/signature (base64).
//
//   OCI referrers of the manifest (cosign 3's default): a manifest with artifactType
//     application/vnd.dev.sigstore.bundle.v0.3+json whose one layer is the Sigstore bundle,
//     found through the referrers API (GET /v2/<repository>/referrers/<digest>) or, on registries
//     without it, the referrers tag schema: an index tagged sha256-<manifest hex>.
//
// Blobs are digest-checked against the manifests naming them; every read is size-capped.
import {
  COSIGN_PAYLOAD_MEDIA_TYPE,
  COSIGN_SIGNATURE_ANNOTATION,
  SIGSTORE_BUNDLE_MEDIA_TYPE,
  type CosignSignature,
  type SigstoreBundleSignature,
} from '@wasmfleet/api';
import { assertDigest, parseDigest, readCapped } from './digest.ts';
import { discard, networkFailure } from './http-fetch.ts';
import { ModuleResolutionError } from './resolution-error.ts';
import { RegistryClient, registryFailure } from './registry-client.ts';
import { MANIFEST_ACCEPT, OCI_INDEX, OCI_MANIFEST } from './artifact-manifest.ts';
import type { OciReference } from './oci-reference.ts';

const MAX_SIGNATURE_MANIFEST = 256 * 1024;
// Raw caps below the wire schema's base64 caps (payload 16 KiB, bundle 64 KiB of base64).
const MAX_PAYLOAD = 8 * 1024;
const MAX_BUNDLE = 32 * 1024;
const MAX_SIGNATURES = 8;

/** The tag cosign stores signatures of `manifestDigest` under. */
export function cosignSignatureTag(manifestDigest: string): string {
  return `${manifestDigest.replace(':', '-')}.sig`;
}

interface SignatureLayer {
  readonly digest: string;
  readonly mediaType: string;
  readonly signature: string;
}

function signatureLayers(bytes: Uint8Array, where: string): SignatureLayer[] {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder().decode(bytes));
  } catch (cause) {
    throw new ModuleResolutionError('InvalidSource', `${where} is not JSON`, { cause });
  }
  const layers = (doc as { layers?: unknown }).layers;
  if (!Array.isArray(layers)) return [];
  const out: SignatureLayer[] = [];
  for (const l of layers as unknown[]) {
    const layer = l as { digest?: unknown; mediaType?: unknown; annotations?: Record<string, unknown> };
    const signature = layer.annotations?.[COSIGN_SIGNATURE_ANNOTATION];
    if (
      typeof layer.digest === 'string' &&
      layer.mediaType === COSIGN_PAYLOAD_MEDIA_TYPE &&
      typeof signature === 'string'
    )
      out.push({ digest: layer.digest, mediaType: layer.mediaType, signature });
  }
  return out.slice(0, MAX_SIGNATURES);
}

export interface SignatureLookup {
  readonly client: RegistryClient;
  readonly ref: OciReference;
  /** The artifact's manifest (digest and bytes as served), which the signatures must name. */
  readonly manifest: { readonly digest: string; readonly bytes: Uint8Array };
  readonly shown: string;
}

/** Cosign signatures stored for the manifest; [] when there are none. */
export async function fetchCosignSignatures(lookup: SignatureLookup): Promise<CosignSignature[]> {
  const { client, ref, manifest, shown } = lookup;
  const tag = cosignSignatureTag(manifest.digest);
  const where = `${shown}: cosign signature ${ref.repository}:${tag}`;
  const response = await client.request(`/v2/${ref.repository}/manifests/${tag}`, `reading ${where}`, {
    headers: { accept: MANIFEST_ACCEPT },
  });
  if (response.status === 404) {
    await discard(response);
    return [];
  }
  if (!response.ok) throw await registryFailure(response, where, 'no signature');
  let body;
  try {
    body = await readCapped(response.body, MAX_SIGNATURE_MANIFEST, where);
  } catch (error) {
    throw networkFailure(error, where, client.deadline);
  }
  const manifestBase64 = Buffer.from(manifest.bytes).toString('base64');
  const found: CosignSignature[] = [];
  for (const layer of signatureLayers(body.bytes, where)) {
    const hex = parseDigest(layer.digest);
    if (hex === undefined) continue;
    const blobWhere = `${where}: payload ${layer.digest}`;
    const blob = await client.request(`/v2/${ref.repository}/blobs/${layer.digest}`, `reading ${blobWhere}`);
    if (!blob.ok) throw await registryFailure(blob, blobWhere, 'the signature manifest names a missing blob');
    let payload;
    try {
      payload = await readCapped(blob.body, MAX_PAYLOAD, blobWhere);
    } catch (error) {
      throw networkFailure(error, blobWhere, client.deadline);
    }
    assertDigest(hex, payload.sha256, blobWhere, 'the registry served corrupted content');
    found.push({
      cosign: {
        payload: Buffer.from(payload.bytes).toString('base64'),
        signature: layer.signature,
        manifest: manifestBase64,
      },
    });
  }
  return found;
}

async function readJsonDocument(
  client: RegistryClient,
  response: Response,
  where: string,
  maxBytes: number,
): Promise<{ readonly bytes: Uint8Array; readonly sha256: string; readonly doc: Record<string, unknown> }> {
  let body;
  try {
    body = await readCapped(response.body, maxBytes, where);
  } catch (error) {
    throw networkFailure(error, where, client.deadline);
  }
  try {
    const doc: unknown = JSON.parse(new TextDecoder().decode(body.bytes));
    if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new Error('not an object');
    return { ...body, doc: doc as Record<string, unknown> };
  } catch (cause) {
    throw new ModuleResolutionError('InvalidSource', `${where} is not a JSON object`, { cause });
  }
}

/** Descriptors of the manifest's referrers: referrers API first, then the tag schema. */
async function referrers(lookup: SignatureLookup): Promise<{ digest: string; artifactType?: unknown }[]> {
  const { client, ref, manifest, shown } = lookup;
  const api = await client.request(
    `/v2/${ref.repository}/referrers/${manifest.digest}?artifactType=${encodeURIComponent(SIGSTORE_BUNDLE_MEDIA_TYPE)}`,
    `listing referrers of ${manifest.digest}`,
    { headers: { accept: OCI_INDEX } },
  );
  let index;
  if (api.ok && (api.headers.get('content-type') ?? '').startsWith(OCI_INDEX)) {
    index = await readJsonDocument(
      client,
      api,
      `${shown}: referrers of ${manifest.digest}`,
      MAX_SIGNATURE_MANIFEST,
    );
  } else {
    await discard(api);
    // No referrers API (distribution 2.x, many mirrors): the tag schema of the OCI 1.1 spec.
    const tag = manifest.digest.replace(':', '-');
    const where = `${shown}: referrers tag ${ref.repository}:${tag}`;
    const response = await client.request(`/v2/${ref.repository}/manifests/${tag}`, `reading ${where}`, {
      headers: { accept: OCI_INDEX },
    });
    if (response.status === 404) {
      await discard(response);
      return [];
    }
    if (!response.ok) throw await registryFailure(response, where, 'no referrers');
    index = await readJsonDocument(client, response, where, MAX_SIGNATURE_MANIFEST);
  }
  const list = Array.isArray(index.doc.manifests) ? (index.doc.manifests as unknown[]) : [];
  return list
    .map((d) => d as { digest?: unknown; artifactType?: unknown })
    .filter((d): d is { digest: string; artifactType?: unknown } => typeof d.digest === 'string');
}

/** Sigstore bundles (cosign 3) attached to the manifest as referrers; [] when there are none. */
export async function fetchSigstoreBundles(lookup: SignatureLookup): Promise<SigstoreBundleSignature[]> {
  const { client, ref, manifest, shown } = lookup;
  const manifestBase64 = Buffer.from(manifest.bytes).toString('base64');
  const found: SigstoreBundleSignature[] = [];
  const bundles = (await referrers(lookup)).filter((d) => d.artifactType === SIGSTORE_BUNDLE_MEDIA_TYPE);
  for (const descriptor of bundles.slice(0, MAX_SIGNATURES)) {
    const hex = parseDigest(descriptor.digest);
    if (hex === undefined) continue;
    const where = `${shown}: signature bundle manifest ${descriptor.digest}`;
    const response = await client.request(
      `/v2/${ref.repository}/manifests/${descriptor.digest}`,
      `reading ${where}`,
      {
        headers: { accept: OCI_MANIFEST },
      },
    );
    if (!response.ok)
      throw await registryFailure(response, where, 'the referrers list names a missing manifest');
    const sigManifest = await readJsonDocument(client, response, where, MAX_SIGNATURE_MANIFEST);
    assertDigest(hex, sigManifest.sha256, where, 'the registry served corrupted content');
    const layers = Array.isArray(sigManifest.doc.layers) ? (sigManifest.doc.layers as unknown[]) : [];
    const layer = layers
      .map((l) => l as { digest?: unknown; mediaType?: unknown })
      .find((l) => l.mediaType === SIGSTORE_BUNDLE_MEDIA_TYPE && typeof l.digest === 'string');
    const layerHex = typeof layer?.digest === 'string' ? parseDigest(layer.digest) : undefined;
    if (layerHex === undefined || typeof layer?.digest !== 'string') continue;
    const blobWhere = `${where}: bundle ${layer.digest}`;
    const blob = await client.request(`/v2/${ref.repository}/blobs/${layer.digest}`, `reading ${blobWhere}`);
    if (!blob.ok) throw await registryFailure(blob, blobWhere, 'the bundle manifest names a missing blob');
    let body;
    try {
      body = await readCapped(blob.body, MAX_BUNDLE, blobWhere);
    } catch (error) {
      throw networkFailure(error, blobWhere, client.deadline);
    }
    assertDigest(layerHex, body.sha256, blobWhere, 'the registry served corrupted content');
    found.push({
      sigstoreBundle: { bundle: Buffer.from(body.bytes).toString('base64'), manifest: manifestBase64 },
    });
  }
  return found;
}
