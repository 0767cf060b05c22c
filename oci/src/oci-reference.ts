// SPDX-License-Identifier: Apache-2.0
// Pure parsing of OCI references: `host[:port]/path/name[:tag][@sha256:<hex>]`.
//
// The registry host is required. Docker's shorthand (`alpine`, `acme/fn` meaning a default
// public registry) is deliberately not supported: a fleet operator should never guess where
// code comes from, and the error tells the user to write the host.
import { ModuleResolutionError } from './resolution-error.ts';

export interface OciReference {
  /** `host` or `host:port`, as written. */
  readonly registry: string;
  /** Repository path inside the registry, e.g. `acme/temp-alert`. */
  readonly repository: string;
  readonly tag: string | undefined;
  /** `sha256:<hex>` when the reference pins a manifest digest. */
  readonly digest: string | undefined;
}

const COMPONENT_RE = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;
const HOST_RE =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:]+\])(?::[0-9]{1,5})?$/;

function invalid(raw: string, why: string): ModuleResolutionError {
  return new ModuleResolutionError('InvalidSource', `module.oci "${raw}" is not a valid reference: ${why}`);
}

export function parseOciReference(raw: string, field = 'module.oci'): OciReference {
  const text = raw.trim();
  if (text.includes('://'))
    throw invalid(raw, `write it without a scheme, e.g. registry.example/org/name:1.0 (${field})`);
  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST_RE.test(digest))
      throw invalid(raw, `the digest after @ must be sha256:<64 lowercase hex>, got "${digest}"`);
  }
  const slash = rest.indexOf('/');
  if (slash < 0)
    throw invalid(raw, 'it needs a registry host and a repository, e.g. registry.example/org/name:1.0');
  const registry = rest.slice(0, slash);
  let path = rest.slice(slash + 1);
  // A host has a dot, a port or is localhost; anything else would be Docker's implicit default.
  const looksLikeHost = registry.includes('.') || registry.includes(':') || registry === 'localhost';
  if (!looksLikeHost || !HOST_RE.test(registry)) {
    throw invalid(
      raw,
      `"${registry}" is not a registry host; start the reference with the registry's host name (and :port)`,
    );
  }
  let tag: string | undefined;
  const colon = path.lastIndexOf(':');
  if (colon >= 0) {
    tag = path.slice(colon + 1);
    path = path.slice(0, colon);
    if (!TAG_RE.test(tag))
      throw invalid(raw, `"${tag}" is not a valid tag (letters, digits, _ . -, at most 128)`);
  }
  if (path === '' || !path.split('/').every((c) => COMPONENT_RE.test(c))) {
    throw invalid(
      raw,
      `"${path}" is not a valid repository (lowercase letters, digits and . _ - separators)`,
    );
  }
  if (path.length > 255) throw invalid(raw, 'the repository name is longer than 255 characters');
  return { registry, repository: path, tag, digest };
}

/** The tag or digest to ask the registry for; digest wins, `latest` when neither is given. */
export function manifestReference(ref: OciReference): string {
  return ref.digest ?? ref.tag ?? 'latest';
}

export function formatReference(ref: OciReference): string {
  return `${ref.registry}/${ref.repository}${ref.tag === undefined ? '' : `:${ref.tag}`}${ref.digest === undefined ? '' : `@${ref.digest}`}`;
}
