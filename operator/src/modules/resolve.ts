// SPDX-License-Identifier: Apache-2.0
// resolveModule: `spec.module` → the verified module bytes, or a typed failure. It only
// dispatches to one source and turns exceptions into results; each source does its own job.
import type { ModuleCache } from './cache.ts';
import { readConfigMapModule } from './configmap-source.ts';
import type { KubeReader } from './kube.ts';
import { isWireModuleSignature, MAX_MODULE_SIGNATURES, type ModuleSignature } from '@wasmfleet/api';
import {
  DEFAULT_TIMEOUT_MS,
  fetchCosignSignatures,
  fetchSigstoreBundles,
  formatReference,
  ModuleResolutionError,
  ociSourceKey,
  parseOciReference,
  pullOciModule,
  RegistryClient,
  usesPlainHttp,
} from '@wasmfleet/oci';
import {
  assertSignaturePolicy,
  signaturesRequired,
  type ClusterSignaturePolicy,
} from './signature-policy.ts';
import { readPullSecret } from './pull-secret.ts';
import { DEFAULT_MAX_MODULE_BYTES, type ModuleSourceSpec, type ResolveResult } from './types.ts';
import { fetchUrlModule } from './url-source.ts';

export interface ResolveContext {
  /** The WasmFunction's namespace: where configMap and pullSecretRef are looked up. */
  readonly namespace: string;
  readonly kube: KubeReader;
  readonly cache?: ModuleCache | undefined;
  /** Largest module accepted; downloads stop as soon as it is passed. Default 50 MiB. */
  readonly maxBytes?: number | undefined;
  /** Deadline for one download (url) or one pull (manifest + blob). Default 60 s. */
  readonly timeoutMs?: number | undefined;
  /** Registries to reach over plain HTTP besides loopback ones. */
  readonly plainHttpRegistries?: readonly string[] | undefined;
  /** Cluster-wide signature policy (`--module-signatures`); default Optional. */
  readonly signaturePolicy?: ClusterSignaturePolicy | undefined;
}

export async function resolveModule(source: ModuleSourceSpec, ctx: ResolveContext): Promise<ResolveResult> {
  try {
    const resolved = await resolveOrThrow(source, ctx);
    if (!resolved.ok) return resolved;
    const signatures: ModuleSignature[] = (source.signatures ?? []).map((s) => ({
      keyId: s.keyId,
      ed25519: s.ed25519,
    }));
    const policy = ctx.signaturePolicy ?? 'Optional';
    if (
      resolved.module.ociManifest !== undefined &&
      source.oci !== undefined &&
      source.verify?.mode !== 'None'
    )
      signatures.push(
        ...(await ociSignaturesOrLastKnown(source.oci, resolved.module.ociManifest, source, ctx, policy)),
      );
    // Only what the wire schema accepts travels (a malformed registry signature would otherwise
    // make devices reject their whole document); the spec's own signatures come first.
    const deliverable = signatures.filter(isWireModuleSignature).slice(0, MAX_MODULE_SIGNATURES);
    assertSignaturePolicy(source, deliverable, policy);
    return { ...resolved, signatures: deliverable };
  } catch (error) {
    if (error instanceof ModuleResolutionError) return { ok: false, failure: error.toFailure() };
    // A bug, not a bad source: still reported, and retried in case it was transient.
    const detail = error instanceof Error ? error.message : String(error);
    return {
      ok: false,
      failure: {
        reason: 'Unreachable',
        message: `module resolution failed unexpectedly: ${detail}`,
        retryable: true,
      },
    };
  }
}

async function resolveOrThrow(source: ModuleSourceSpec, ctx: ResolveContext): Promise<ResolveResult> {
  const maxBytes = ctx.maxBytes ?? DEFAULT_MAX_MODULE_BYTES;
  const timeoutMs = ctx.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const given = (['url', 'oci', 'configMap'] as const).filter((k) => source[k] !== undefined);
  if (given.length !== 1) {
    throw new ModuleResolutionError(
      'InvalidSource',
      given.length === 0
        ? 'module needs a source: set one of module.url (with module.sha256), module.oci or module.configMap'
        : `module sources are exclusive, but ${given.map((k) => `module.${k}`).join(' and ')} are set: keep one`,
    );
  }
  if (source.pullSecretRef !== undefined && source.oci === undefined) {
    throw new ModuleResolutionError(
      'InvalidSource',
      'module.pullSecretRef is only used with module.oci; remove it',
    );
  }

  if (source.url !== undefined) {
    // url + sha256 is immutable by construction: once verified, never fetched again.
    const key = `url ${source.url}`;
    const digest = source.sha256 ?? '';
    const hit = ctx.cache?.get(key, digest);
    if (hit) return { ok: true, module: hit, cached: true, signatures: [] };
    const module = await fetchUrlModule(source.url, source.sha256, { maxBytes, timeoutMs });
    ctx.cache?.set(key, digest, module);
    return { ok: true, module, cached: false, signatures: [] };
  }

  if (source.configMap !== undefined) {
    // Always read: the ConfigMap is the source of truth and can change under the same spec;
    // it is small (≤ 1 MiB) and comes from the API server, not the internet.
    const module = await readConfigMapModule(
      ctx.kube,
      ctx.namespace,
      source.configMap,
      source.sha256,
      maxBytes,
    );
    return { ok: true, module, cached: false, signatures: [] };
  }

  const oci = source.oci ?? '';
  const ref = parseOciReference(oci);
  const secretName = source.pullSecretRef?.name;
  // Read the pull secret even when the result is cached, so a deleted or broken secret is
  // reported now rather than at the next cache miss.
  const credentials =
    secretName === undefined
      ? undefined
      : await readPullSecret(ctx.kube, ctx.namespace, secretName, ref.registry);
  const pulled = await pullOciModule(oci, {
    credentials,
    credentialsFrom: secretName === undefined ? undefined : `Secret ${ctx.namespace}/${secretName}`,
    maxBytes,
    timeoutMs,
    plainHttpRegistries: ctx.plainHttpRegistries,
    expectedSha256: source.sha256,
    cache: ctx.cache,
  });
  return { ok: true, module: pulled.module, cached: pulled.cached, signatures: [] };
}

/**
 * Cosign signatures of the artifact, read on every resolution: signing usually happens after the
 * push, and one small manifest request is cheap next to a device refusing. When the registry
 * cannot be reached, the last signatures found for this manifest are used; when the lookup fails
 * otherwise and the policy does not require signatures, none — so a registry outage or a broken
 * signature does not stop a running fleet, and the devices still verify whatever arrives.
 */
async function ociSignaturesOrLastKnown(
  oci: string,
  manifest: { readonly digest: string; readonly bytes: Uint8Array },
  source: ModuleSourceSpec,
  ctx: ResolveContext,
  policy: ClusterSignaturePolicy,
): Promise<readonly ModuleSignature[]> {
  const key = ociSourceKey(parseOciReference(oci));
  try {
    const found = await ociSignatures(oci, manifest, source, ctx);
    ctx.cache?.setSignatures(key, manifest.digest, found);
    return found;
  } catch (error) {
    if (!(error instanceof ModuleResolutionError)) throw error;
    const known = ctx.cache?.signatures(key, manifest.digest);
    if (error.reason === 'Unreachable' && known?.length) return known;
    // Unreadable or malformed signature material never blocks a module the policy lets through
    // unsigned: the devices decide with what arrives.
    if (signaturesRequired(source, policy)) throw error;
    return known ?? [];
  }
}

/** One lookup of the artifact's cosign signatures, both storage formats. */
async function ociSignatures(
  oci: string,
  manifest: { readonly digest: string; readonly bytes: Uint8Array },
  source: ModuleSourceSpec,
  ctx: ResolveContext,
): Promise<ModuleSignature[]> {
  const ref = parseOciReference(oci);
  const secretName = source.pullSecretRef?.name;
  const credentials =
    secretName === undefined
      ? undefined
      : await readPullSecret(ctx.kube, ctx.namespace, secretName, ref.registry);
  const client = new RegistryClient({
    registry: ref.registry,
    scope: `repository:${ref.repository}:pull`,
    credentials,
    credentialsFrom: secretName === undefined ? undefined : `Secret ${ctx.namespace}/${secretName}`,
    plainHttp: usesPlainHttp(ref.registry, ctx.plainHttpRegistries),
    plainHttpRegistries: ctx.plainHttpRegistries,
    timeoutMs: ctx.timeoutMs ?? DEFAULT_TIMEOUT_MS,
  });
  const lookup = { client, ref, manifest, shown: `module.oci ${formatReference(ref)}` };
  return [...(await fetchCosignSignatures(lookup)), ...(await fetchSigstoreBundles(lookup))];
}
