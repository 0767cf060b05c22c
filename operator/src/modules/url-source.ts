// SPDX-License-Identifier: Apache-2.0
// Source (a): `url` + `sha256` — download over http(s) with a deadline and a size cap, hashing
// while streaming, then check it is wasm and that it is the module the spec pinned.
import { formatBytes, urlForLogs } from '@wasmfleet/api';
import {
  assertDigest,
  assertWasm,
  deadline,
  discard,
  fetchOrFail,
  ModuleResolutionError,
  networkFailure,
  readCapped,
  tooLarge,
  type ResolvedModule,
} from '@wasmfleet/oci';

export interface UrlFetchOptions {
  readonly maxBytes: number;
  readonly timeoutMs: number;
}

const SHA256_RE = /^[0-9a-f]{64}$/;

export function parseModuleUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch (error) {
    throw new ModuleResolutionError('InvalidSource', `module.url "${raw}" is not a valid URL`, {
      cause: error,
    });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ModuleResolutionError(
      'InvalidSource',
      `module.url must use http:// or https://, not ${url.protocol}//`,
    );
  }
  return url;
}

/** `module.sha256` is required with a URL, as 64 lowercase hex characters. */
function checkedSha256(sha256: string | undefined): string {
  if (sha256 === undefined) {
    throw new ModuleResolutionError(
      'InvalidSource',
      'module.sha256 is required with module.url: set it to the output of sha256sum module.wasm',
    );
  }
  if (!SHA256_RE.test(sha256)) {
    throw new ModuleResolutionError(
      'InvalidSource',
      `module.sha256 "${sha256}" is not 64 lowercase hex characters`,
    );
  }
  return sha256;
}

/** fetch refuses URLs with user:password; send them as Basic auth, as curl would. */
function withBasicAuth(url: URL): { target: URL; headers: Record<string, string> } {
  const headers: Record<string, string> = { accept: 'application/wasm, */*;q=0.5' };
  const target = new URL(url.href);
  if (url.username !== '' || url.password !== '') {
    const user = decodeURIComponent(url.username);
    const password = decodeURIComponent(url.password);
    headers.authorization = `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;
    target.username = '';
    target.password = '';
  }
  return { target, headers };
}

/** The typed failure of an answer that is not 2xx. */
async function httpFailure(response: Response, where: string): Promise<ModuleResolutionError> {
  await discard(response);
  const status = `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
  if (response.status === 404 || response.status === 410) {
    return new ModuleResolutionError(
      'NotFound',
      `${where} answered ${status}: check the URL, or that the file was uploaded`,
    );
  }
  if (response.status === 401 || response.status === 403) {
    return new ModuleResolutionError(
      'Unauthorized',
      `${where} answered ${status}: the server wants credentials; use a URL that can be read anonymously, or an OCI registry with a pull secret`,
    );
  }
  return new ModuleResolutionError('Unreachable', `${where} answered ${status}`, {
    retryable: response.status >= 500 || response.status === 429 || response.status === 408,
  });
}

export async function fetchUrlModule(
  rawUrl: string,
  sha256: string | undefined,
  options: UrlFetchOptions,
): Promise<ResolvedModule> {
  const url = parseModuleUrl(rawUrl);
  const expected = checkedSha256(sha256);
  const where = `module.url ${urlForLogs(url.href)}`;
  const d = deadline(options.timeoutMs);
  const { target, headers } = withBasicAuth(url);
  const response = await fetchOrFail(target, { headers }, where, d);
  if (!response.ok) throw await httpFailure(response, where);

  // Refuse before reading when the server announces the size; otherwise readCapped stops early.
  const announced = Number(response.headers.get('content-length') ?? Number.NaN);
  if (Number.isFinite(announced) && announced > options.maxBytes) {
    await discard(response);
    throw tooLarge(where, options.maxBytes, `the server announced ${formatBytes(announced)}`);
  }

  let body;
  try {
    body = await readCapped(response.body, options.maxBytes, where);
  } catch (error) {
    throw networkFailure(error, where, d);
  }
  // Wasm check first: when a URL serves an HTML error page the digest mismatches too, and
  // "this is an HTML page" tells the user much more than two hashes.
  const kind = assertWasm(body.bytes, where);
  assertDigest(
    expected,
    body.sha256,
    where,
    'the file changed at the URL, or module.sha256 is wrong (sha256sum module.wasm)',
  );
  return {
    sha256: body.sha256,
    size: body.bytes.byteLength,
    bytes: body.bytes,
    mediaType: 'application/wasm',
    kind,
  };
}
