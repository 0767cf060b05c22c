// SPDX-License-Identifier: Apache-2.0
// The device's decision about a module's signatures: which trusted key vouches for the digest,
// or why none does (ADR 0011; the twin of api/src/signing/verify.ts, cosign.ts and
// sigstore-bundle.ts, with the same verdicts and messages). Pure; ring checks the signatures.
use super::keys::{KeyKind, TrustedKey};
use crate::store::modules::sha256_hex;
use crate::wire::desired::{BundleMaterial, CosignMaterial, ModuleSignature};
use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use ring::signature::{self, UnparsedPublicKey};
use serde_json::Value;

pub const STATEMENT_DOMAIN: &str = "wasmfleet-module-signature/v1";
const COSIGN_PAYLOAD_TYPE: &str = "cosign container image signature";
const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
const IN_TOTO_STATEMENT_V1: &str = "https://in-toto.io/Statement/v1";
const COSIGN_SIGN_PREDICATE: &str = "https://sigstore.dev/cosign/sign/v1";
const HOW_TO_SIGN: &str = "sign it with `wasmfleet sign <module.wasm> --key <private.pem>` (spec.module.signatures) or `cosign sign --key` (module.oci)";

/// Lenient like Node's Buffer.from(s, 'base64'): padding optional.
const B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

fn b64(s: &str) -> Vec<u8> {
    B64.decode(s).unwrap_or_default()
}

pub struct Policy {
    pub trusted: Vec<TrustedKey>,
    pub allow_unsigned: bool,
}

#[derive(Debug, PartialEq)]
pub enum Verdict {
    Ok { key_id: Option<String>, kind: &'static str },
    Refused { reason: &'static str, message: String },
}

pub fn signing_statement(sha256: &str) -> String {
    format!("{STATEMENT_DOMAIN}\nsha256:{sha256}\n")
}

/// True when `signature` is `key`'s signature of `data` the way cosign (or Node's crypto.verify)
/// makes it for that key type: Ed25519, ECDSA with SHA-256 (DER), RSA PKCS#1 v1.5 with SHA-256.
pub fn verify_blob(data: &[u8], sig: &[u8], key: &TrustedKey) -> bool {
    let alg: &dyn signature::VerificationAlgorithm = match key.kind {
        KeyKind::Ed25519 => &signature::ED25519,
        KeyKind::EcdsaP256 => &signature::ECDSA_P256_SHA256_ASN1,
        KeyKind::EcdsaP384 => &signature::ECDSA_P384_SHA256_ASN1,
        KeyKind::Rsa => &signature::RSA_PKCS1_2048_8192_SHA256,
    };
    UnparsedPublicKey::new(alg, &key.public).verify(data, sig).is_ok()
}

fn key_list(policy: &Policy) -> String {
    if policy.trusted.is_empty() {
        "(none)".into()
    } else {
        policy.trusted.iter().map(|k| k.id.as_str()).collect::<Vec<_>>().join(", ")
    }
}

pub fn verify_module_signatures(sha256: &str, signatures: Option<&[ModuleSignature]>, policy: &Policy) -> Verdict {
    let module = format!("module sha256:{sha256}");
    let sigs: &[ModuleSignature] = if policy.trusted.is_empty() { &[] } else { signatures.unwrap_or(&[]) };
    if sigs.is_empty() {
        if policy.allow_unsigned {
            return Verdict::Ok { key_id: None, kind: "unsigned" };
        }
        return Verdict::Refused {
            reason: "Unsigned",
            message: format!(
                "{module} carries no signature and this device runs only modules signed by one of its trusted keys ({}); {HOW_TO_SIGN}",
                key_list(policy)
            ),
        };
    }
    let mut invalid: Vec<String> = Vec::new();
    let mut untrusted: Vec<String> = Vec::new();
    for sig in sigs {
        match sig {
            ModuleSignature::Wasmfleet(s) => {
                let Some(key) = policy.trusted.iter().find(|k| k.id == s.key_id) else {
                    untrusted.push(format!("key {}", s.key_id));
                    continue;
                };
                let bytes = b64(&s.ed25519);
                if key.kind == KeyKind::Ed25519
                    && bytes.len() == 64
                    && verify_blob(signing_statement(sha256).as_bytes(), &bytes, key)
                {
                    return Verdict::Ok { key_id: Some(key.id.clone()), kind: "wasmfleet" };
                }
                invalid.push(if key.kind == KeyKind::Ed25519 {
                    format!("signature by key {} ({}) does not verify for sha256:{sha256}", key.id, key.fingerprint)
                } else {
                    format!(
                        "trusted key {} is a {} key; WasmFleet signatures need an Ed25519 key",
                        key.id,
                        key.kind.name()
                    )
                });
            }
            ModuleSignature::SigstoreBundle(b) => {
                let Some(key) = bundle_signer(&b.sigstore_bundle, &policy.trusted) else {
                    untrusted.push("a cosign (Sigstore bundle) signature no trusted key verifies".into());
                    continue;
                };
                match check_bundle_chain(&b.sigstore_bundle, sha256) {
                    Ok(()) => return Verdict::Ok { key_id: Some(key.id.clone()), kind: "cosign" },
                    Err(problem) => {
                        invalid.push(format!("cosign signature by key {} ({}): {problem}", key.id, key.fingerprint))
                    }
                }
            }
            ModuleSignature::Cosign(c) => {
                let payload = b64(&c.cosign.payload);
                let signature = b64(&c.cosign.signature);
                let Some(key) = policy.trusted.iter().find(|k| verify_blob(&payload, &signature, k)) else {
                    untrusted.push("a cosign signature no trusted key verifies".into());
                    continue;
                };
                match check_cosign_chain(&c.cosign, sha256) {
                    Ok(()) => return Verdict::Ok { key_id: Some(key.id.clone()), kind: "cosign" },
                    Err(problem) => {
                        invalid.push(format!("cosign signature by key {} ({}): {problem}", key.id, key.fingerprint))
                    }
                }
            }
        }
    }
    if !invalid.is_empty() {
        return Verdict::Refused {
            reason: "SignatureInvalid",
            message: format!(
                "{}: the module or its signature was altered or belongs to other bytes; refusing to run {module}. Re-sign the module you deploy: {HOW_TO_SIGN}",
                invalid.join("; ")
            ),
        };
    }
    if policy.allow_unsigned {
        return Verdict::Ok { key_id: None, kind: "unsigned" };
    }
    Verdict::Refused {
        reason: "UntrustedKey",
        message: format!(
            "{module} is signed only by keys this device does not trust ({}); trusted: {}. Add the signer's public key to the device's --trusted-keys, or sign with a trusted key",
            untrusted.join("; "),
            key_list(policy)
        ),
    }
}

fn json(bytes: &[u8]) -> Option<Value> {
    serde_json::from_slice(bytes).ok()
}

/// payload.critical.image["docker-manifest-digest"] == sha256(manifest) and the manifest holds the module.
pub fn check_cosign_chain(m: &CosignMaterial, sha256: &str) -> Result<(), String> {
    let payload = json(&b64(&m.payload));
    let critical = payload.as_ref().and_then(|p| p.get("critical")).filter(|c| c.is_object());
    let Some(critical) = critical.filter(|c| c.get("type").and_then(Value::as_str) == Some(COSIGN_PAYLOAD_TYPE)) else {
        return Err(format!("the signed payload is not a cosign simple-signing payload (\"{COSIGN_PAYLOAD_TYPE}\")"));
    };
    let Some(signed) = critical.get("image").and_then(|i| i.get("docker-manifest-digest")).and_then(Value::as_str)
    else {
        return Err("the signed payload names no docker-manifest-digest".into());
    };
    let manifest = b64(&m.manifest);
    let manifest_digest = format!("sha256:{}", sha256_hex(&manifest));
    if signed != manifest_digest {
        return Err(format!(
            "the signature covers manifest {signed}, but the manifest delivered with the module is {manifest_digest}"
        ));
    }
    check_manifest_layer(&manifest, &manifest_digest, sha256)
}

fn check_manifest_layer(manifest: &[u8], manifest_digest: &str, sha256: &str) -> Result<(), String> {
    let want = format!("sha256:{sha256}");
    let has = json(manifest)
        .and_then(|m| m.get("layers").and_then(Value::as_array).cloned())
        .is_some_and(|layers| layers.iter().any(|l| l.get("digest").and_then(Value::as_str) == Some(want.as_str())));
    if has {
        Ok(())
    } else {
        Err(format!("the signed manifest {manifest_digest} has no layer {want}: the signature is for another module"))
    }
}

/// DSSE's pre-authentication encoding: what a DSSE signature actually covers.
pub fn dsse_pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!("DSSEv1 {} {payload_type} {} ", payload_type.len(), payload.len()).into_bytes();
    out.extend_from_slice(payload);
    out
}

struct Envelope {
    payload_type: String,
    payload: Vec<u8>,
    signatures: Vec<Vec<u8>>,
}

fn parse_envelope(bundle_b64: &str) -> Option<Envelope> {
    let bundle = json(&b64(bundle_b64))?;
    if !bundle.get("mediaType")?.as_str()?.starts_with("application/vnd.dev.sigstore.bundle") {
        return None;
    }
    let env = bundle.get("dsseEnvelope")?;
    Some(Envelope {
        payload_type: env.get("payloadType")?.as_str()?.to_string(),
        payload: b64(env.get("payload")?.as_str()?),
        signatures: env
            .get("signatures")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|s| s.get("sig")?.as_str().map(b64)).collect())
            .unwrap_or_default(),
    })
}

fn bundle_signer<'a>(m: &BundleMaterial, keys: &'a [TrustedKey]) -> Option<&'a TrustedKey> {
    let env = parse_envelope(&m.bundle)?;
    let pae = dsse_pae(&env.payload_type, &env.payload);
    keys.iter().find(|k| env.signatures.iter().any(|s| verify_blob(&pae, s, k)))
}

fn check_bundle_chain(m: &BundleMaterial, sha256: &str) -> Result<(), String> {
    let env = parse_envelope(&m.bundle).ok_or("the Sigstore bundle has no DSSE envelope")?;
    if env.payload_type != IN_TOTO_PAYLOAD_TYPE {
        return Err(format!("the bundle signs a {} payload, not an in-toto statement", env.payload_type));
    }
    let statement = json(&env.payload).unwrap_or(Value::Null);
    if statement.get("_type").and_then(Value::as_str) != Some(IN_TOTO_STATEMENT_V1)
        || statement.get("predicateType").and_then(Value::as_str) != Some(COSIGN_SIGN_PREDICATE)
    {
        return Err(format!("the bundle's statement is not a cosign signature ({COSIGN_SIGN_PREDICATE})"));
    }
    let manifest = b64(&m.manifest);
    let manifest_hex = sha256_hex(&manifest);
    let named: Vec<&str> = statement
        .get("subject")
        .and_then(Value::as_array)
        .map(|s| s.iter().filter_map(|x| x.get("digest")?.get("sha256")?.as_str()).collect())
        .unwrap_or_default();
    if !named.contains(&manifest_hex.as_str()) {
        let covers = if named.is_empty() {
            "(none)".to_string()
        } else {
            named.iter().map(|d| format!("sha256:{d}")).collect::<Vec<_>>().join(", ")
        };
        return Err(format!(
            "the signature covers manifest {covers}, but the manifest delivered with the module is sha256:{manifest_hex}"
        ));
    }
    check_manifest_layer(&manifest, &format!("sha256:{manifest_hex}"), sha256)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::KeyPair;

    fn ed_key(id: &str) -> (signature::Ed25519KeyPair, TrustedKey) {
        let rng = ring::rand::SystemRandom::new();
        let doc = signature::Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        let pair = signature::Ed25519KeyPair::from_pkcs8(doc.as_ref()).unwrap();
        let key = TrustedKey {
            id: id.into(),
            kind: KeyKind::Ed25519,
            public: pair.public_key().as_ref().to_vec(),
            fingerprint: "f".into(),
        };
        (pair, key)
    }

    #[test]
    fn a_wasmfleet_signature_by_a_trusted_key_verifies_and_others_are_refused() {
        let digest = "a".repeat(64);
        let (pair, key) = ed_key("release");
        let sig = base64::engine::general_purpose::STANDARD.encode(pair.sign(signing_statement(&digest).as_bytes()));
        let sigs = vec![ModuleSignature::Wasmfleet(crate::wire::desired::WasmfleetSignature {
            key_id: "release".into(),
            ed25519: sig,
        })];
        let policy = Policy { trusted: vec![key], allow_unsigned: false };
        assert_eq!(
            verify_module_signatures(&digest, Some(&sigs), &policy),
            Verdict::Ok { key_id: Some("release".into()), kind: "wasmfleet" }
        );
        let other = "b".repeat(64);
        assert!(matches!(
            verify_module_signatures(&other, Some(&sigs), &policy),
            Verdict::Refused { reason: "SignatureInvalid", .. }
        ));
        assert!(matches!(
            verify_module_signatures(&digest, None, &policy),
            Verdict::Refused { reason: "Unsigned", .. }
        ));
        let (_, stranger) = ed_key("other");
        let policy = Policy { trusted: vec![stranger], allow_unsigned: false };
        assert!(matches!(
            verify_module_signatures(&digest, Some(&sigs), &policy),
            Verdict::Refused { reason: "UntrustedKey", .. }
        ));
    }
}
