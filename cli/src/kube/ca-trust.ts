// SPDX-License-Identifier: Apache-2.0
// How a request trusts the kubeconfig's CA. node:https's `ca` option makes OpenSSL build a new
// certificate store from Node's ~140 bundled root certificates before adding the CA, even though
// the option replaces them (nodejs/node#56301, open): ~10 ms of every CLI call, more than the rest
// of its TLS set-up. `tls.setDefaultCACertificates` (Node ≥ 24.5) makes the CA the default list
// instead, and a context without `ca` then trusts exactly it — the same set of certificates the
// `ca` option trusts (the bundled roots and NODE_EXTRA_CA_CERTS are left out either way), without
// the bundled ones being parsed (docs/adr/0046).
// The default list is the whole process's, so this is done only where every TLS connection of the
// process goes to this API server: a call started from the startup snapshot (get, describe,
// rollout status; one that needs a broker is handed to a fresh process first), which says so with
// `dedicateTlsToTheApiServer()`. Anywhere else, or for a CA that is not plain PEM certificates,
// the `ca` option is used as before.

/** One PEM certificate, as kubectl writes certificate-authority-data (base64 of the PEM text). */
const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----/g;

let dedicated = false;

/** Says that every TLS connection of this process goes to the API server of one kubeconfig. */
export function dedicateTlsToTheApiServer(): void {
  dedicated = true;
}

/**
 * Makes `ca` the process's default trusted certificates when that is safe (see above) and returns
 * true; false means pass it as the request's `ca` option.
 */
export function trustAsDefault(ca: Buffer): boolean {
  if (!dedicated) return false;
  const tls = process.getBuiltinModule('node:tls');
  if (typeof tls.setDefaultCACertificates !== 'function') return false;
  const text = ca.toString('latin1');
  const certificates = text.match(PEM_CERTIFICATE) ?? [];
  // Only certificates and blank space: anything else (a DER file, a TRUSTED CERTIFICATE block,
  // comments) goes through the `ca` option, whose handling of it is OpenSSL's.
  if (certificates.length === 0 || text.replace(PEM_CERTIFICATE, '').trim() !== '') return false;
  try {
    tls.setDefaultCACertificates(certificates);
    return true;
  } catch {
    return false;
  }
}
