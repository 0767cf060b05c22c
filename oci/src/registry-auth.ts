// SPDX-License-Identifier: Apache-2.0
// Pure parts of registry authentication: parsing `WWW-Authenticate` challenges and finding the
// credentials for a registry in a dockerconfigjson pull secret.
import { ModuleResolutionError } from './resolution-error.ts';

export type RegistryCredentials =
  | { readonly username: string; readonly password: string }
  /** An OAuth2 refresh token (docker login with identity tokens), used in the token flow. */
  | { readonly identityToken: string };

export interface Challenge {
  /** Lowercased: `basic` or `bearer` (others are reported as unsupported). */
  readonly scheme: string;
  readonly params: Readonly<Record<string, string>>;
}

/** Parses the first challenge of a `WWW-Authenticate` header (RFC 7235 auth-params). */
export function parseChallenge(header: string): Challenge | undefined {
  const m = /^\s*([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*)\s*(.*)$/s.exec(header);
  if (m === null) return undefined;
  const scheme = (m[1] ?? '').toLowerCase();
  const params: Record<string, string> = {};
  const paramRe = /\s*([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*(?:,|$)/gy;
  const rest = m[2] ?? '';
  let match: RegExpExecArray | null;
  while (paramRe.lastIndex < rest.length && (match = paramRe.exec(rest)) !== null) {
    const key = (match[1] ?? '').toLowerCase();
    params[key] = match[2] !== undefined ? match[2].replace(/\\(.)/g, '$1') : (match[3] ?? '');
  }
  return { scheme, params };
}

interface DockerAuthEntry {
  auth?: unknown;
  username?: unknown;
  password?: unknown;
  identitytoken?: unknown;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `https://host:5000/v1/` → `host:5000`, so keys written by any docker/podman version match. */
export function normalizeRegistryKey(key: string): string {
  return key
    .replace(/^[a-z]+:\/\//i, '')
    .replace(/\/.*$/, '')
    .toLowerCase();
}

/**
 * The credentials for `registry` in a `kubernetes.io/dockerconfigjson` (or legacy
 * `kubernetes.io/dockercfg`) Secret; undefined when the secret has no entry for that registry.
 */
export function credentialsFromDockerConfig(
  secretName: string,
  type: string | undefined,
  data: Readonly<Record<string, string>> | undefined,
  registry: string,
): RegistryCredentials | undefined {
  const what = `Secret ${secretName} (module.pullSecretRef)`;
  let encoded: string | undefined;
  let legacy = false;
  if (data?.['.dockerconfigjson'] !== undefined) {
    encoded = data['.dockerconfigjson'];
  } else if (data?.['.dockercfg'] !== undefined) {
    encoded = data['.dockercfg'];
    legacy = true;
  }
  if (encoded === undefined) {
    throw new ModuleResolutionError(
      'InvalidSource',
      `${what} has type ${type ?? '(none)'} and no .dockerconfigjson key; create it with kubectl create secret docker-registry ${secretName} --docker-server=… --docker-username=… --docker-password=…`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(encoded, 'base64').toString('utf8'));
  } catch (error) {
    throw new ModuleResolutionError(
      'InvalidSource',
      `${what} does not hold valid JSON in ${legacy ? '.dockercfg' : '.dockerconfigjson'}`,
      { cause: error },
    );
  }
  const auths = legacy ? parsed : isRecord(parsed) ? parsed.auths : undefined;
  if (!isRecord(auths)) {
    throw new ModuleResolutionError('InvalidSource', `${what} has no "auths" map in .dockerconfigjson`);
  }
  const wanted = registry.toLowerCase();
  const entry = Object.entries(auths).find(([key]) => normalizeRegistryKey(key) === wanted)?.[1];
  if (!isRecord(entry)) return undefined;
  const e = entry as DockerAuthEntry;
  if (typeof e.identitytoken === 'string' && e.identitytoken !== '')
    return { identityToken: e.identitytoken };
  if (typeof e.username === 'string' && typeof e.password === 'string')
    return { username: e.username, password: e.password };
  if (typeof e.auth === 'string' && e.auth !== '') {
    const decoded = Buffer.from(e.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  throw new ModuleResolutionError(
    'InvalidSource',
    `${what} has an entry for ${registry} without usable credentials (auth, username/password or identitytoken)`,
  );
}

export function basicHeader(credentials: { username: string; password: string }): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`, 'utf8').toString('base64')}`;
}

/** `registry-1.docker.io` → `docker.io`; undefined for an address or a name with two labels. */
function parentDomain(hostname: string): string | undefined {
  if (/^[\d.]+$/.test(hostname) || hostname.includes(':') || hostname.startsWith('[')) return undefined;
  const labels = hostname.split('.');
  return labels.length >= 3 ? labels.slice(1).join('.') : undefined;
}

/**
 * Whether a token service may be asked for a token of `registry` (`host[:port]`), and given its
 * credentials: undefined when it may, else why not. Plain http only where the operator allows it
 * for that host (`plainHttpAllowed`: loopback or --plain-http-registries). Credentials only to the
 * registry's own host or its domain (`registry-1.docker.io` → `auth.docker.io`): a registry, or
 * whoever answers in its place, must not be able to send them elsewhere.
 */
export function realmProblem(
  registry: string,
  realm: URL,
  withCredentials: boolean,
  plainHttpAllowed: (host: string) => boolean,
): string | undefined {
  if (realm.protocol !== 'https:' && realm.protocol !== 'http:')
    return `its token service ${realm.href} is not an https:// URL`;
  if (realm.protocol === 'http:' && !plainHttpAllowed(realm.host))
    return `its token service ${realm.origin} is plain http, which WasmFleet uses only for loopback hosts and those listed with --plain-http-registries`;
  if (!withCredentials) return undefined;
  const own = new URL(`https://${registry}`).hostname.toLowerCase();
  const host = realm.hostname.toLowerCase();
  const parent = parentDomain(own);
  if (host === own || (parent !== undefined && (host === parent || host.endsWith(`.${parent}`))))
    return undefined;
  return `its token service ${realm.origin} is not on the registry's own domain (${parent ?? own}); WasmFleet sends the registry's credentials nowhere else`;
}
