// SPDX-License-Identifier: Apache-2.0
// Source (b): `configMap: { name, key }` in the function's namespace.
//
// `binaryData` is the normal place: `kubectl create configmap m --from-file=module.wasm` puts a
// file there when it is not valid UTF-8, which almost every real module is not. But a small
// module made only of bytes below 0x80 (the 8-byte empty module, for one) IS valid UTF-8, and
// kubectl then stores it as text in `data`. So `data[key]` is accepted in two forms:
//   1. the raw module as text — its UTF-8 encoding starts with the wasm magic, and is exactly
//      the file kubectl read;
//   2. base64 text of the module (strict alphabet and padding) — the way to write any binary
//      into `data` by hand.
// Anything else in `data` is reported as NotWasm with what the text looks like (e.g. .wat).
import { formatBytes } from '@wasmfleet/api';
import {
  assertDigest,
  assertWasm,
  ModuleResolutionError,
  sha256Hex,
  tooLarge,
  wasmKind,
  type ResolvedModule,
} from '@wasmfleet/oci';
import { KubeReadError, type KubeReader } from './kube.ts';

export interface ConfigMapRef {
  readonly name: string;
  readonly key: string;
}

const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

/** Strict base64 (padding and alphabet checked, line breaks allowed), or undefined. */
export function decodeStrictBase64(text: string): Uint8Array | undefined {
  const compact = text.replace(/[\r\n\t ]/g, '');
  if (compact.length === 0 || compact.length % 4 !== 0 || !BASE64_RE.test(compact)) return undefined;
  const bytes = Buffer.from(compact, 'base64');
  // Buffer.from silently skips junk; a round trip proves every character was meaningful.
  return bytes.toString('base64') === compact ? bytes : undefined;
}

export function kubeReadFailure(error: unknown, what: string): ModuleResolutionError {
  if (error instanceof KubeReadError && error.status === 403) {
    return new ModuleResolutionError(
      'Unauthorized',
      `the operator is not allowed to read ${what}: grant its ServiceAccount get on that resource (RBAC)`,
      { cause: error },
    );
  }
  const detail = error instanceof Error ? error.message : String(error);
  return new ModuleResolutionError('Unreachable', `could not read ${what} from the API server: ${detail}`, {
    cause: error,
  });
}

export async function readConfigMapModule(
  kube: KubeReader,
  namespace: string,
  ref: ConfigMapRef,
  expectedSha256: string | undefined,
  maxBytes: number,
): Promise<ResolvedModule> {
  const what = `ConfigMap ${namespace}/${ref.name}`;
  let cm;
  try {
    cm = await kube.getConfigMap(namespace, ref.name);
  } catch (error) {
    throw kubeReadFailure(error, what);
  }
  if (cm === undefined) {
    throw new ModuleResolutionError(
      'MissingReference',
      `${what} (module.configMap.name) does not exist: create it, e.g. kubectl -n ${namespace} create configmap ${ref.name} --from-file=${ref.key}=module.wasm`,
    );
  }
  let bytes: Uint8Array;
  let where: string;
  const binary = cm.binaryData?.[ref.key];
  const text = cm.data?.[ref.key];
  if (binary !== undefined) {
    where = `${what} binaryData["${ref.key}"]`;
    bytes = Buffer.from(binary, 'base64');
  } else if (text !== undefined) {
    where = `${what} data["${ref.key}"]`;
    const raw = Buffer.from(text, 'utf8');
    bytes = wasmKind(raw) !== undefined ? raw : (decodeStrictBase64(text) ?? raw);
  } else {
    const keys = [...Object.keys(cm.binaryData ?? {}), ...Object.keys(cm.data ?? {})].sort();
    throw new ModuleResolutionError(
      'MissingReference',
      `${what} has no key "${ref.key}" (module.configMap.key) in binaryData or data; keys present: ${keys.length > 0 ? keys.join(', ') : 'none'}`,
    );
  }
  if (bytes.byteLength > maxBytes) throw tooLarge(where, maxBytes, formatBytes(bytes.byteLength));
  const kind = assertWasm(bytes, where);
  const sha256 = sha256Hex(bytes);
  if (expectedSha256 !== undefined) {
    assertDigest(
      expectedSha256,
      sha256,
      where,
      'the ConfigMap was changed after module.sha256 was pinned; update one or the other',
    );
  }
  return { sha256, size: bytes.byteLength, bytes, mediaType: 'application/wasm', kind };
}
