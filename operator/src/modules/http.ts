// SPDX-License-Identifier: Apache-2.0
// The network edge shared by the url and OCI sources: one deadline for a whole exchange
// (headers and body), and transport errors translated into `Unreachable` with the cause named.
import { ModuleResolutionError } from './types.ts';

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

/** Reads at most `limit` bytes of a (usually error) body as text, for messages. */
export async function peekText(response: Response, limit = 300): Promise<string> {
  try {
    const text = await response.text();
    return text.length > limit ? `${text.slice(0, limit)}…` : text;
  } catch {
    return '';
  }
}
