// SPDX-License-Identifier: Apache-2.0
// TLS for the broker connection through rustls (ring provider): the CA from --ca (or the system's
// roots when none is given), and a client certificate and key for mutual TLS. `join` hands the CA
// as PEM text (the printed command carries it), the agent as a file.
use crate::config::Settings;
use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::sync::Arc;

/// Where the broker's CA comes from.
pub enum Roots<'a> {
    File(&'a str),
    Pem(&'a [u8]),
    System,
}

pub fn client_config(s: &Settings) -> Result<rustls::ClientConfig, String> {
    let roots = match &s.ca_file {
        Some(ca) => Roots::File(ca),
        None => Roots::System,
    };
    let client = s.cert_file.as_deref().zip(s.key_file.as_deref());
    build(roots, client)
}

/// A client configuration trusting `roots`, with a client certificate and key file for mutual TLS.
pub fn build(roots: Roots<'_>, client: Option<(&str, &str)>) -> Result<rustls::ClientConfig, String> {
    // ring: small and already compiled for TLS 1.2/1.3; the post-quantum hybrids need aws-lc-rs.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(root_store(roots)?);
    match client {
        Some((cert, key)) => {
            let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
                .map_err(|e| format!("cannot read the client certificate file {cert}: {e}"))?
                .collect::<Result<_, _>>()
                .map_err(|e| format!("the client certificate file {cert} is not PEM: {e}"))?;
            let key = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| format!("the client key file {key} is not a PEM private key: {e}"))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| format!("the client certificate and key do not form a usable pair: {e}"))
        }
        None => Ok(builder.with_no_client_auth()),
    }
}

fn root_store(roots: Roots<'_>) -> Result<RootCertStore, String> {
    let mut store = RootCertStore::empty();
    let (certs, what): (Vec<CertificateDer<'static>>, String) = match roots {
        Roots::System => {
            for cert in rustls_native_certs::load_native_certs().certs {
                let _ = store.add(cert);
            }
            return Ok(store);
        }
        Roots::File(ca) => (
            CertificateDer::pem_file_iter(ca)
                .map_err(|e| format!("cannot read the CA certificate file {ca}: {e}"))?
                .collect::<Result<_, _>>()
                .map_err(|e| format!("the CA certificate file {ca} is not PEM: {e}"))?,
            format!("file {ca}"),
        ),
        Roots::Pem(pem) => (
            CertificateDer::pem_slice_iter(pem)
                .collect::<Result<_, _>>()
                .map_err(|e| format!("the CA certificate is not PEM: {e}"))?,
            "given".to_string(),
        ),
    };
    if certs.is_empty() {
        return Err(format!("the CA certificate {what} holds no certificate"));
    }
    for cert in certs {
        store.add(cert).map_err(|e| format!("the CA certificate {what} is not usable: {e}"))?;
    }
    Ok(store)
}
