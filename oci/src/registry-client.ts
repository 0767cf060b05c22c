// SPDX-License-Identifier: Apache-2.0
// A minimal OCI distribution client over fetch: one registry, one operation's deadline, and the
// two auth schemes registries use — Basic, and the Bearer token flow announced by a
// `WWW-Authenticate` challenge (anonymous tokens included, which public registries require).
import {
  deadline as makeDeadline,
  discard,
  fetchOrFail,
  peekText,
  readJson,
  type Deadline,
} from './http-fetch.ts';
import { ModuleResolutionError } from './resolution-error.ts';
import { basicHeader, parseChallenge, realmProblem, type RegistryCredentials } from './registry-auth.ts';

/** A token service's answer is a small JSON document; anything larger is refused. */
const MAX_TOKEN_RESPONSE_BYTES = 1024 * 1024;

export interface RegistryClientOptions {
  readonly registry: string;
  /** Scope asked for in token requests, e.g. `repository:acme/fn:pull`. */
  readonly scope: string;
  readonly credentials?: RegistryCredentials | undefined;
  /** Where the credentials came from, for messages ("Secret plant-1/regcred"). */
  readonly credentialsFrom?: string | undefined;
  readonly plainHttp: boolean;
  /** Hosts the operator allows plain HTTP to (--plain-http-registries); loopback always. */
  readonly plainHttpRegistries?: readonly string[];
  readonly timeoutMs: number;
}

const LOOPBACK_RE = /^(?:localhost|127(?:\.\d{1,3}){3}|\[::1\]|[^:]+\.localhost)(?::\d+)?$/i;

/**
 * Plain HTTP only for loopback registries (as Docker does) and for hosts an operator listed
 * explicitly; everything else is HTTPS.
 */
export function usesPlainHttp(registry: string, plainHttpRegistries: readonly string[] = []): boolean {
  return (
    LOOPBACK_RE.test(registry) || plainHttpRegistries.some((h) => h.toLowerCase() === registry.toLowerCase())
  );
}

interface RequestOptions {
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Uint8Array;
}

export class RegistryClient {
  readonly registry: string;
  readonly base: URL;
  readonly deadline: Deadline;
  readonly #options: RegistryClientOptions;
  #authorization: string | undefined;

  constructor(options: RegistryClientOptions) {
    this.#options = options;
    this.registry = options.registry;
    this.base = new URL(`${options.plainHttp ? 'http' : 'https'}://${options.registry}/`);
    this.deadline = makeDeadline(options.timeoutMs);
  }

  get where(): string {
    return `registry ${this.registry}`;
  }

  /** A request to the registry, answering one auth challenge when the registry asks for it. */
  async request(target: string | URL, what: string, options: RequestOptions = {}): Promise<Response> {
    const url = new URL(target, this.base);
    const first = await this.#send(url, what, options);
    if (first.status !== 401) return first;
    const challengeHeader = first.headers.get('www-authenticate');
    await discard(first);
    if (challengeHeader === null) {
      throw new ModuleResolutionError(
        'Unauthorized',
        `${this.where} answered 401 to ${what} without saying how to authenticate`,
      );
    }
    this.#authorization = await this.#authorize(challengeHeader, what);
    const second = await this.#send(url, what, options);
    if (second.status === 401) {
      await discard(second);
      throw this.#rejected(what);
    }
    return second;
  }

  async #send(url: URL, what: string, options: RequestOptions): Promise<Response> {
    const headers: Record<string, string> = { ...options.headers };
    // Credentials go to the registry's own origin only, never to a redirect or upload host.
    if (this.#authorization !== undefined && url.origin === this.base.origin)
      headers.authorization = this.#authorization;
    return fetchOrFail(
      url,
      {
        method: options.method ?? 'GET',
        headers,
        ...(options.body !== undefined ? { body: options.body } : {}),
      },
      `${this.where} (${what})`,
      this.deadline,
    );
  }

  #rejected(what: string): ModuleResolutionError {
    const creds = this.#options.credentials;
    if (creds === undefined) {
      return new ModuleResolutionError(
        'Unauthorized',
        `${this.where} requires credentials for ${what}: set module.pullSecretRef to a kubernetes.io/dockerconfigjson Secret with an entry for ${this.registry}`,
      );
    }
    const who = 'username' in creds ? `user "${creds.username}"` : 'the identity token';
    return new ModuleResolutionError(
      'Unauthorized',
      `${this.where} rejected ${who}${this.#options.credentialsFrom ? ` from ${this.#options.credentialsFrom}` : ''} for ${what}: check the username/password and that the account may pull this repository`,
    );
  }

  async #authorize(header: string, what: string): Promise<string> {
    const challenge = parseChallenge(header);
    const creds = this.#options.credentials;
    if (challenge?.scheme === 'basic') {
      if (creds === undefined || !('username' in creds)) throw this.#rejected(what);
      return basicHeader(creds);
    }
    if (challenge?.scheme === 'bearer') return `Bearer ${await this.#token(challenge.params, what)}`;
    throw new ModuleResolutionError(
      'Unauthorized',
      `${this.where} asks for an unsupported authentication scheme: ${header}`,
    );
  }

  async #token(params: Readonly<Record<string, string>>, what: string): Promise<string> {
    const url = this.#realm(params);
    const scopes = new Set([this.#options.scope, ...(params.scope ?? '').split(' ').filter((s) => s !== '')]);
    const where = `the token service ${url.origin} of ${this.where}`;
    const response = await this.#askTokenService(url, params.service, scopes, where);
    if (response.status === 401 || response.status === 403) {
      await discard(response);
      throw this.#rejected(what);
    }
    if (!response.ok) {
      throw new ModuleResolutionError(
        'Unreachable',
        `${where} answered HTTP ${response.status}: ${await peekText(response)}`,
        {
          retryable: response.status >= 500,
        },
      );
    }
    return tokenOf(response, where);
  }

  /** The token service a Bearer challenge names, when it is one credentials may be sent to. */
  #realm(params: Readonly<Record<string, string>>): URL {
    const realm = params.realm;
    if (realm === undefined)
      throw new ModuleResolutionError(
        'Unauthorized',
        `${this.where} sent a Bearer challenge without a realm`,
      );
    let url: URL;
    try {
      url = new URL(realm);
    } catch (error) {
      throw new ModuleResolutionError(
        'Unauthorized',
        `${this.where} sent a Bearer challenge with an invalid realm "${realm}"`,
        { cause: error },
      );
    }
    const problem = realmProblem(this.registry, url, this.#options.credentials !== undefined, (host) =>
      usesPlainHttp(host, this.#options.plainHttpRegistries),
    );
    if (problem !== undefined)
      throw new ModuleResolutionError('Unauthorized', `${this.where} asks for a token, but ${problem}`);
    return url;
  }

  async #askTokenService(
    url: URL,
    service: string | undefined,
    scopes: ReadonlySet<string>,
    where: string,
  ): Promise<Response> {
    const creds = this.#options.credentials;
    if (creds !== undefined && 'identityToken' in creds) {
      // Identity tokens are OAuth2 refresh tokens: exchanged with a form POST.
      const form = new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: creds.identityToken,
        client_id: 'wasmfleet',
      });
      if (service !== undefined) form.set('service', service);
      form.set('scope', [...scopes].join(' '));
      return fetchOrFail(
        url,
        { method: 'POST', body: form, headers: { 'content-type': 'application/x-www-form-urlencoded' } },
        where,
        this.deadline,
      );
    }
    if (service !== undefined) url.searchParams.set('service', service);
    for (const scope of scopes) url.searchParams.append('scope', scope);
    const headers: Record<string, string> = creds === undefined ? {} : { authorization: basicHeader(creds) };
    return fetchOrFail(url, { headers }, where, this.deadline);
  }
}

/** The token in a token service's JSON answer (`token`, or OAuth2's `access_token`). */
async function tokenOf(response: Response, where: string): Promise<string> {
  let body: unknown;
  try {
    body = await readJson(response, MAX_TOKEN_RESPONSE_BYTES, where);
  } catch (error) {
    throw new ModuleResolutionError(
      'Unauthorized',
      `${where} answered with something that is not a JSON document of at most ${MAX_TOKEN_RESPONSE_BYTES} bytes`,
      { cause: error },
    );
  }
  const token =
    typeof body === 'object' && body !== null
      ? ((body as { token?: unknown }).token ?? (body as { access_token?: unknown }).access_token)
      : undefined;
  if (typeof token !== 'string' || token === '') {
    throw new ModuleResolutionError('Unauthorized', `${where} answered without a token`);
  }
  return token;
}

/** Maps a non-success registry answer to a typed failure, quoting the registry's error codes. */
export async function registryFailure(
  response: Response,
  where: string,
  notFoundHint: string,
): Promise<ModuleResolutionError> {
  const text = await peekText(response, 600);
  let detail = text;
  try {
    const parsed = JSON.parse(text) as { errors?: { code?: string; message?: string }[] };
    if (Array.isArray(parsed.errors) && parsed.errors.length > 0) {
      detail = parsed.errors.map((e) => [e.code, e.message].filter(Boolean).join(': ')).join('; ');
    }
  } catch {
    // Not the registry's JSON error format; quote the text as it is.
  }
  const status = `HTTP ${response.status}${detail ? ` (${detail})` : ''}`;
  if (response.status === 404)
    return new ModuleResolutionError('NotFound', `${where} answered ${status}: ${notFoundHint}`);
  if (response.status === 401 || response.status === 403) {
    return new ModuleResolutionError(
      'Unauthorized',
      `${where} answered ${status}: the credentials may not access this repository`,
    );
  }
  return new ModuleResolutionError('Unreachable', `${where} answered ${status}`, {
    retryable: response.status >= 500 || response.status === 429 || response.status === 408,
  });
}
