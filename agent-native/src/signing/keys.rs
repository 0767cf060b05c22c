// SPDX-License-Identifier: Apache-2.0
// The device's trust anchor: public keys read from files it was installed with, never from the
// broker (ADR 0011; agent/src/signing/trusted-keys.ts). A key's name is its file name without
// `.pub`; PEM SubjectPublicKeyInfo holding Ed25519, ECDSA (P-256, P-384) or RSA.
use crate::store::modules::sha256_hex;
use crate::wire::desired::is_key_id;
use rustls_pki_types::SubjectPublicKeyInfoDer;
use rustls_pki_types::pem::PemObject;
use spki::ObjectIdentifier;
use spki::der::Decode;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Ed25519,
    EcdsaP256,
    EcdsaP384,
    Rsa,
}

impl KeyKind {
    pub fn name(self) -> &'static str {
        match self {
            KeyKind::Ed25519 => "ed25519",
            KeyKind::EcdsaP256 | KeyKind::EcdsaP384 => "ec",
            KeyKind::Rsa => "rsa",
        }
    }
}

#[derive(Debug, Clone)]
pub struct TrustedKey {
    pub id: String,
    pub kind: KeyKind,
    /// The subjectPublicKey bits (ring's input: raw Ed25519, an EC point, or PKCS#1 RSAPublicKey).
    pub public: Vec<u8>,
    /// The first 16 hex of sha256(SPKI DER), as keyFingerprint() in api/src/signing prints it.
    pub fingerprint: String,
}

const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

fn read_key(file: &Path) -> Result<TrustedKey, String> {
    let base = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let id = base.strip_suffix(".pub").unwrap_or(base).to_string();
    if !is_key_id(&id) {
        return Err(format!(
            "trusted key file {}: its name must be <key-id>.pub with a key id of lower-case letters, digits, '-', '.' and '_' (e.g. release-2026.pub)",
            file.display()
        ));
    }
    let not_pem = || {
        format!(
            "trusted key file {} is not a PEM public key: export one with `wasmfleet sign keygen` or `cosign generate-key-pair`",
            file.display()
        )
    };
    let bytes = std::fs::read(file).map_err(|e| format!("trusted key file {}: {e}", file.display()))?;
    let der = SubjectPublicKeyInfoDer::from_pem_slice(&bytes).map_err(|_| not_pem())?;
    let spki = spki::SubjectPublicKeyInfoRef::from_der(der.as_ref()).map_err(|_| not_pem())?;
    let params = spki.algorithm.parameters.and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
    let kind = match spki.algorithm.oid {
        ED25519 => KeyKind::Ed25519,
        EC_PUBLIC_KEY if params == Some(P256) => KeyKind::EcdsaP256,
        EC_PUBLIC_KEY if params == Some(P384) => KeyKind::EcdsaP384,
        RSA => KeyKind::Rsa,
        other => {
            return Err(format!(
                "trusted key file {} holds a {other} key; use Ed25519, ECDSA P-256 or RSA",
                file.display()
            ));
        }
    };
    let public = spki.subject_public_key.raw_bytes().to_vec();
    Ok(TrustedKey { id, kind, public, fingerprint: sha256_hex(der.as_ref())[..16].to_string() })
}

/// Reads every `<id>.pub` in the given files and directories; the error names the file at fault.
pub fn load_trusted_keys(paths: &[String]) -> Result<Vec<TrustedKey>, String> {
    let mut keys: BTreeMap<String, TrustedKey> = BTreeMap::new();
    let mut order = Vec::new();
    for p in paths {
        let path = Path::new(p);
        let meta = std::fs::metadata(path)
            .map_err(|_| format!("{p}: no such file or directory (give <key-id>.pub files or a directory of them)"))?;
        let files: Vec<PathBuf> = if meta.is_dir() {
            let mut names: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| format!("{p}: {e}"))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "pub"))
                .collect();
            names.sort();
            names
        } else {
            vec![path.to_path_buf()]
        };
        for file in files {
            let key = read_key(&file)?;
            if let Some(seen) = keys.get(&key.id) {
                if seen.fingerprint != key.fingerprint {
                    return Err(format!("two different trusted keys are named {}; rename one of the files", key.id));
                }
                continue;
            }
            order.push(key.id.clone());
            keys.insert(key.id.clone(), key);
        }
    }
    Ok(order.into_iter().filter_map(|id| keys.remove(&id)).collect())
}
