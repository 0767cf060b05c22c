// SPDX-License-Identifier: Apache-2.0
// The network edge shared by the url and OCI sources: one deadline for a whole exchange
// (headers and body), and transport errors translated into `Unreachable` with the cause named.
import { ModuleResolutionError } from './resolution-error.ts';

/** How long one exchange (a module download, a push) may take unless the caller says otherwise. */
export const DEFAULT_TIMEOUT_MS = 60_000;

export interface Deadline {
  readonly signal: AbortSignal;
  readonly timeoutMs: number;
}

export function deadline(timeoutMs: number): Deadline {
  return { signal: AbortSignal.timeout(timeoutMs), timeoutMs };
}

function errorCode(error: unknown): string | undefined {
  // undici wraps socket errors: TypeError('fetch failed', { cause: Error{ code: 'ECONNREFUSED' } }),
  // sometimes one level deeper (AggregateError for happy-eyeballs).
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && code !== 'UND_ERR_SOCKET') return code;
    if (e instanceof AggregateError) {
      const inner: unknown = e.errors[0];
      if (inner instanceof Error && typeof (inner as NodeJS.ErrnoException).code === 'string') {
        return (inner as NodeJS.ErrnoException).code;
      }
    }
  }
  return undefined;
}

const CODE_HINTS: Record<string, string> = {
  ECONNREFUSED: 'connection refused (nothing listens on that port)',
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'DNS lookup failed for now',
  ECONNRESET: 'the connection was reset',
  EHOSTUNREACH: 'the host is unreachable',
  ENETUNREACH: 'the network is unreachable',
  ETIMEDOUT: 'the connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'the connection timed out',
  CERT_HAS_EXPIRED: 'its TLS certificate has expired',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'its TLS certificate is self-signed and not trusted',
  SELF_SIGNED_CERT_IN_CHAIN: 'its TLS certificate chain is not trusted',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'its TLS certificate could not be verified',
  ERR_TLS_CERT_ALTNAME_INVALID: 'its TLS certificate does not match the host name',
};

/** Turns whatever fetch or a body read threw into a typed failure (passing typed ones through). */
export function networkFailure(error: unknown, where: string, d: Deadline): ModuleResolutionError {
  if (error instanceof ModuleResolutionError) return error;
  if (d.signal.aborted || (error instanceof DOMException && error.name === 'TimeoutError')) {
    return new ModuleResolutionError(
      'Unreachable',
      `${where} did not answer completely within ${d.timeoutMs} ms`,
      {
        cause: error,
      },
    );
  }
  const code = errorCode(error);
  const why =
    code === undefined
      ? error instanceof Error
        ? error.message
        : String(error)
      : (CODE_HINTS[code] ?? code);
  // TLS trust problems will not fix themselves on retry; socket problems may.
  const retryable = code === undefined || !/CERT|TLS|SIGNATURE/.test(code);
  return new ModuleResolutionError('Unreachable', `${where} could not be reached: ${why}`, {
    cause: error,
    retryable,
  });
}

/** fetch with the deadline, translating transport errors. */
export async function fetchOrFail(
  url: URL | string,
  init: RequestInit,
  where: string,
  d: Deadline,
): Promise<Response> {
  try {
    return await fetch(url, { ...init, signal: d.signal });
  } catch (error) {
    throw networkFailure(error, where, d);
  }
}

/** Discards a body we will not read, so the connection can be reused or closed promptly. */
export async function discard(response: Response): Promise<void> {
  await response.body?.cancel().catch(() => undefined);
}

/**
 * Reads at most `limit` characters of a (usually error) body as text, for messages: only as many
 * bytes as that can take are read, then the rest is cancelled. Never the whole of a body a server
 * chose the size of.
 */
export async function peekText(response: Response, limit = 300): Promise<string> {
  try {
    const { bytes, truncated } = await readPrefix(response, limit * 4);
    const text = new TextDecoder().decode(bytes);
    return text.length > limit || truncated ? `${text.slice(0, limit)}…` : text;
  } catch {
    return '';
  }
}

/** The first `maxBytes` bytes of a body (the rest is cancelled), and whether there was more. */
export async function readPrefix(
  response: Response,
  maxBytes: number,
): Promise<{ bytes: Uint8Array; truncated: boolean }> {
  const body = response.body as ReadableStream<Uint8Array> | null;
  const reader = body?.getReader();
  if (!reader) return { bytes: new Uint8Array(0), truncated: false };
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { bytes: Buffer.concat(chunks, total), truncated: false };
      chunks.push(value);
      total += value.byteLength;
      if (total > maxBytes) {
        await reader.cancel().catch(() => undefined);
        return { bytes: Buffer.concat(chunks, total).subarray(0, maxBytes), truncated: true };
      }
    }
  } finally {
    reader.releaseLock();
  }
}

/** A JSON body of at most `maxBytes` (a token service's answer), or an error saying it is larger. */
export async function readJson(response: Response, maxBytes: number, where: string): Promise<unknown> {
  const { bytes, truncated } = await readPrefix(response, maxBytes);
  if (truncated) throw new Error(`${where} answered with more than ${maxBytes} bytes`);
  return JSON.parse(new TextDecoder().decode(bytes)) as unknown;
}
