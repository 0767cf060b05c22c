// SPDX-License-Identifier: Apache-2.0
// `pushModule`: uploads a wasm module as an OCI artifact (config + layer blobs, then the
// manifest) with the wasm artifact media types, for `wasmfleet push`.
import { sha256Hex } from './digest.ts';
import { DEFAULT_TIMEOUT_MS } from './http-fetch.ts';
import { ModuleResolutionError } from './resolution-error.ts';
import { assertWasm } from './wasm-preamble.ts';
import type { RegistryCredentials } from './registry-auth.ts';
import { RegistryClient, registryFailure, usesPlainHttp } from './registry-client.ts';
import {
  OCI_MANIFEST,
  WASM_CONFIG,
  WASM_LAYER,
  wasmConfig,
  wasmManifest,
  type Descriptor,
} from './artifact-manifest.ts';
import { formatReference, parseOciReference, type OciReference } from './oci-reference.ts';
import { discard } from './http-fetch.ts';

export interface PushOptions {
  readonly timeoutMs?: number;
  readonly plainHttpRegistries?: readonly string[];
  /** Manifest annotations, e.g. `org.opencontainers.image.source`. */
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface PushResult {
  /** `sha256:<hex>` of the manifest: what to pin in `module.oci` as `…@<digest>`. */
  readonly digest: string;
  /** `registry/repo@sha256:…`, ready to paste into a WasmFunction. */
  readonly reference: string;
  /** sha256 hex of the module itself (the value of `module.sha256`). */
  readonly sha256: string;
  readonly size: number;
}

async function uploadBlob(
  client: RegistryClient,
  ref: OciReference,
  blob: Uint8Array,
  digest: string,
): Promise<void> {
  const what = `pushing ${ref.repository}`;
  const where = `${client.where}: blob ${digest}`;
  const head = await client.request(`/v2/${ref.repository}/blobs/${digest}`, what, { method: 'HEAD' });
  await discard(head);
  if (head.ok) return; // Already there (content-addressed): nothing to send.

  const start = await client.request(`/v2/${ref.repository}/blobs/uploads/`, what, {
    method: 'POST',
    headers: { 'content-length': '0' },
  });
  if (start.status !== 202)
    throw await registryFailure(start, where, `repository ${ref.repository} cannot take uploads`);
  const location = start.headers.get('location');
  await discard(start);
  if (location === null)
    throw new ModuleResolutionError(
      'InvalidSource',
      `${where}: the registry started an upload without a Location header`,
    );
  // Location may be relative and may already carry query parameters (upload state).
  const target = new URL(location, client.base);
  target.searchParams.set('digest', digest);
  const put = await client.request(target, what, {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(blob.byteLength) },
    body: blob,
  });
  if (put.status !== 201) throw await registryFailure(put, where, 'the upload session vanished');
  await discard(put);
}

export async function pushModule(
  registryRef: string,
  bytes: Uint8Array,
  auth?: RegistryCredentials,
  options: PushOptions = {},
): Promise<PushResult> {
  const ref = parseOciReference(registryRef, 'the push reference');
  const kind = assertWasm(bytes, 'the module to push');
  const client = new RegistryClient({
    registry: ref.registry,
    scope: `repository:${ref.repository}:pull,push`,
    credentials: auth,
    plainHttp: usesPlainHttp(ref.registry, options.plainHttpRegistries),
    plainHttpRegistries: options.plainHttpRegistries,
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
  });

  const sha256 = sha256Hex(bytes);
  const layer: Descriptor = { mediaType: WASM_LAYER, digest: `sha256:${sha256}`, size: bytes.byteLength };
  const configBytes = wasmConfig(kind, layer.digest);
  const config: Descriptor = {
    mediaType: WASM_CONFIG,
    digest: `sha256:${sha256Hex(configBytes)}`,
    size: configBytes.byteLength,
  };
  const manifestBytes = wasmManifest(config, layer, options.annotations);
  const digest = `sha256:${sha256Hex(manifestBytes)}`;
  if (ref.digest !== undefined && ref.digest !== digest) {
    throw new ModuleResolutionError(
      'DigestMismatch',
      `${formatReference(ref)} pins ${ref.digest}, but this module's manifest is ${digest}; push to a tag instead`,
    );
  }

  await uploadBlob(client, ref, bytes, layer.digest);
  await uploadBlob(client, ref, configBytes, config.digest);
  const target = ref.tag ?? ref.digest ?? 'latest';
  const put = await client.request(`/v2/${ref.repository}/manifests/${target}`, `pushing ${ref.repository}`, {
    method: 'PUT',
    headers: { 'content-type': OCI_MANIFEST },
    body: manifestBytes,
  });
  if (put.status !== 201)
    throw await registryFailure(
      put,
      `${client.where}: manifest ${target}`,
      `repository ${ref.repository} refused the manifest`,
    );
  const answered = put.headers.get('docker-content-digest');
  await discard(put);
  if (answered !== null && answered !== digest) {
    throw new ModuleResolutionError(
      'DigestMismatch',
      `${client.where} stored the manifest as ${answered}, but it hashes to ${digest}`,
    );
  }
  return { digest, reference: `${ref.registry}/${ref.repository}@${digest}`, sha256, size: bytes.byteLength };
}
