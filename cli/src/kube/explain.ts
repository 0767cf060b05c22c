// SPDX-License-Identifier: Apache-2.0
// Turns what the API server answered (through @kubernetes/client-node or the light reader) into a
// UserError that says what to do next.
import { UserError } from '../errors.ts';

export interface Target {
  readonly server: string;
  readonly what?: string;
  readonly namespace?: string;
}

export function explainKubeError(error: unknown, target: Target): UserError {
  if (error instanceof UserError) return error;
  const code = networkCode(error);
  if (code) {
    return new UserError(`cannot reach the Kubernetes API server at ${target.server} (${code})`, {
      hint: 'is the cluster running? Check the context with `kubectl cluster-info`, pick another with --context, or start a local one with `wasmfleet dev up`',
      cause: error,
    });
  }
  if (isApiAnswer(error)) return explainApiAnswer(error, target);
  if (
    error instanceof Error &&
    /Unrecognized API version and kind|resource type|no matches for kind/i.test(error.message)
  ) {
    return crdsMissing(error);
  }
  return new UserError(error instanceof Error ? error.message : String(error), { cause: error });
}

/** What a status code the API server answered means for the user, and what to do next. */
function explainApiAnswer(error: ApiAnswer, target: Target): UserError {
  const message = serverMessage(error.body) ?? error.message;
  switch (error.code) {
    case 401:
      return new UserError(
        `the API server at ${target.server} rejected your credentials (401 Unauthorized)`,
        {
          hint: 'your token or certificate has expired or is wrong; refresh your kubeconfig or pass --kubeconfig',
          cause: error,
        },
      );
    case 403:
      return new UserError(`forbidden: ${message}`, {
        hint: 'your user lacks an RBAC permission for this; ask a cluster admin, or check with `kubectl auth can-i`',
        cause: error,
      });
    case 404:
      if (
        /resource type|the server could not find the requested resource|no matches for kind/i.test(message)
      ) {
        return crdsMissing(error);
      }
      return new UserError(
        `${target.what ?? 'the object'} not found${target.namespace ? ` in namespace "${target.namespace}"` : ''}`,
        {
          hint: 'check the name and namespace (-n); list what exists with `wasmfleet get functions -A` or `wasmfleet get nodes`',
          cause: error,
        },
      );
    case 409:
      // Server-side apply: another field manager (kubectl edit/patch, a controller) owns fields
      // this apply sets. Running it again changes nothing; taking the fields over does.
      if (/^Apply failed with \d+ conflicts?/.test(message)) {
        return new UserError(`conflict: ${message}`, {
          hint: 'another field manager set those fields since; pass --force-conflicts to take them over with this file’s values',
          cause: error,
        });
      }
      return new UserError(`conflict: ${message}`, {
        hint: 'someone else changed it; run the command again',
        cause: error,
      });
    case 422:
      return new UserError(`the API server rejected it: ${message}`, {
        hint: 'fix the fields named above; `wasmfleet apply --dry-run` checks a file without changing anything',
        cause: error,
      });
    default:
      return new UserError(`the API server answered ${error.code}: ${message}`, { cause: error });
  }
}

/**
 * An error carrying the API server's status code and body: client-node's ApiException or
 * local-stack's ApiError (matched by shape, so that this module loads neither library).
 */
type ApiAnswer = Error & { code: number; body: unknown };

function isApiAnswer(error: unknown): error is ApiAnswer {
  return error instanceof Error && typeof (error as { code?: unknown }).code === 'number' && 'body' in error;
}

function crdsMissing(cause: unknown): UserError {
  return new UserError('the WasmFleet CRDs are not installed in this cluster', {
    hint: 'install them with `kubectl apply -f crds/` (or `helm install wasmfleet charts/wasmfleet`), or start a local stack with `wasmfleet dev up`',
    cause,
  });
}

function networkCode(error: unknown): string | undefined {
  // fetch wraps the socket error: look down the whole cause chain for an errno code first.
  let sawFetchFailure = false;
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    const code = (e as NodeJS.ErrnoException).code;
    if (
      code &&
      /^(ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|ECONNRESET|EAI_AGAIN|UND_ERR_\w+)$/.test(code)
    )
      return code;
    if (/fetch failed/.test(e.message)) sawFetchFailure = true;
  }
  return sawFetchFailure ? 'connection failed' : undefined;
}

function serverMessage(body: unknown): string | undefined {
  const parsed: unknown = typeof body === 'string' ? safeJson(body) : body;
  if (parsed && typeof parsed === 'object' && 'message' in parsed && typeof parsed.message === 'string')
    return parsed.message;
  return typeof body === 'string' && body.length > 0 ? body : undefined;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
