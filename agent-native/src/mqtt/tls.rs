// SPDX-License-Identifier: Apache-2.0
// TLS for the broker connection through rustls (ring provider): the CA from --ca (or the system's
// roots when none is given), and a client certificate and key for mutual TLS.
use crate::config::Settings;
use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::sync::Arc;

pub fn client_config(s: &Settings) -> Result<rustls::ClientConfig, String> {
    // ring: small and already compiled for TLS 1.2/1.3; the post-quantum hybrids need aws-lc-rs.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    match &s.ca_file {
        Some(ca) => {
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(ca)
                .map_err(|e| format!("cannot read the CA certificate file {ca}: {e}"))?
                .collect::<Result<_, _>>()
                .map_err(|e| format!("the CA certificate file {ca} is not PEM: {e}"))?;
            if certs.is_empty() {
                return Err(format!("the CA certificate file {ca} holds no certificate"));
            }
            for cert in certs {
                roots.add(cert).map_err(|e| format!("the CA certificate in {ca} is not usable: {e}"))?;
            }
        }
        None => {
            for cert in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(cert);
            }
        }
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots);
    match (&s.cert_file, &s.key_file) {
        (Some(cert), Some(key)) => {
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
        _ => Ok(builder.with_no_client_auth()),
    }
}
