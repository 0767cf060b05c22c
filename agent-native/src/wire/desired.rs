// SPDX-License-Identifier: Apache-2.0
// The desired-state document (retained on wasmfleet/v1/nodes/<node>/desired): the serde twin of
// api/src/wire/desired.ts. Unknown fields are refused (the contract's additive-only rule), and
// every bound of the TypeBox schema is checked after parsing, with the JSON path at fault.
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::topics::is_node_id;

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DesiredState {
    pub version: u8,
    pub node: String,
    pub generation: u64,
    pub functions: Vec<DesiredFunction>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DesiredFunction {
    pub namespace: String,
    pub name: String,
    pub revision: String,
    pub module: ModuleRef,
    pub inputs: Vec<WireInput>,
    pub outputs: Vec<WireOutput>,
    pub config: BTreeMap<String, String>,
    pub limits: WireLimits,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ModuleRef {
    pub sha256: String,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signatures: Option<Vec<ModuleSignature>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum ModuleSignature {
    Wasmfleet(WasmfleetSignature),
    Cosign(CosignSignature),
    SigstoreBundle(SigstoreBundleSignature),
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WasmfleetSignature {
    pub key_id: String,
    pub ed25519: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CosignSignature {
    pub cosign: CosignMaterial,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CosignMaterial {
    pub payload: String,
    pub signature: String,
    pub manifest: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SigstoreBundleSignature {
    pub sigstore_bundle: BundleMaterial,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BundleMaterial {
    pub bundle: String,
    pub manifest: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PayloadFormat {
    Raw,
    Json,
    Senml,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WireInput {
    pub topic: String,
    pub qos: u8,
    pub format: PayloadFormat,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WireOutput {
    pub topic: String,
    pub qos: u8,
    pub retain: bool,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WireLimits {
    pub memory_bytes: u64,
    pub timeout_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_module_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_payload_bytes: Option<u64>,
}

/// A function's identity on a node: `<namespace>/<name>`.
pub fn function_key(f: &DesiredFunction) -> String {
    format!("{}/{}", f.namespace, f.name)
}

/// Parses and checks a desired-state document; the errors name the JSON path at fault.
pub fn parse_desired_state(bytes: &[u8]) -> Result<DesiredState, Vec<String>> {
    let doc: DesiredState = serde_json::from_slice(bytes).map_err(|e| vec![e.to_string()])?;
    let mut errors = Vec::new();
    check_state(&doc, &mut errors);
    if errors.is_empty() { Ok(doc) } else { Err(errors) }
}

fn check_state(doc: &DesiredState, errors: &mut Vec<String>) {
    let mut need = |ok: bool, what: String| {
        if !ok {
            errors.push(what);
        }
    };
    need(doc.version == 1, "/version must be 1".into());
    need(is_node_id(&doc.node), "/node must match the node id pattern".into());
    need(doc.functions.len() <= 256, "/functions must have at most 256 items".into());
    for (i, f) in doc.functions.iter().enumerate() {
        check_function(&format!("/functions/{i}"), f, errors);
    }
}

/// DNS-1123 label (a Kubernetes namespace): lower-case alphanumerics and '-', at most 63.
pub fn is_dns_label(s: &str) -> bool {
    is_dns_name(s, 63, false)
}

/// DNS-1123 subdomain (a Kubernetes object name): also '.', at most 253.
pub fn is_dns_subdomain(s: &str) -> bool {
    is_dns_name(s, 253, true)
}

fn is_dns_name(s: &str, max: usize, dots: bool) -> bool {
    let b = s.as_bytes();
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    !b.is_empty()
        && b.len() <= max
        && alnum(b[0])
        && alnum(b[b.len() - 1])
        && b.iter().all(|&c| alnum(c) || c == b'-' || (dots && c == b'.'))
}

fn is_hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
}

fn is_base64(s: &str) -> bool {
    let body = s.trim_end_matches('=');
    s.len() - body.len() <= 2 && body.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'+' || c == b'/')
}

pub fn is_key_id(s: &str) -> bool {
    let b = s.as_bytes();
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    !b.is_empty()
        && b.len() <= 63
        && alnum(b[0])
        && alnum(b[b.len() - 1])
        && b.iter().all(|&c| alnum(c) || c == b'-' || c == b'.' || c == b'_')
}

fn check_function(at: &str, f: &DesiredFunction, errors: &mut Vec<String>) {
    let mut need = |ok: bool, what: &str| {
        if !ok {
            errors.push(format!("{at}{what}"));
        }
    };
    need(
        is_dns_label(&f.namespace),
        "/namespace must be a DNS-1123 label (lower-case letters, digits and '-', at most 63)",
    );
    need(
        is_dns_subdomain(&f.name),
        "/name must be a DNS-1123 subdomain (lower-case letters, digits, '-' and '.', at most 253)",
    );
    need(!f.revision.is_empty() && f.revision.chars().count() <= 128, "/revision must have 1 to 128 characters");
    need(is_hex64(&f.module.sha256), "/module/sha256 must be 64 lower-case hex characters");
    need(f.module.size >= 8, "/module/size must be >= 8");
    if let Some(url) = &f.module.url {
        need(
            (url.starts_with("http://") || url.starts_with("https://")) && url.chars().count() <= 2048,
            "/module/url must be an http(s) URL of at most 2048 characters",
        );
    }
    if let Some(sigs) = &f.module.signatures {
        need(!sigs.is_empty() && sigs.len() <= 8, "/module/signatures must have 1 to 8 items");
        for sig in sigs {
            let ok = match sig {
                ModuleSignature::Wasmfleet(s) => {
                    is_key_id(&s.key_id) && s.ed25519.len() == 88 && s.ed25519.ends_with("==") && is_base64(&s.ed25519)
                }
                ModuleSignature::Cosign(c) => {
                    let m = &c.cosign;
                    is_base64(&m.payload)
                        && m.payload.len() <= 16_384
                        && is_base64(&m.signature)
                        && m.signature.len() <= 1024
                        && is_base64(&m.manifest)
                        && m.manifest.len() <= 65_536
                }
                ModuleSignature::SigstoreBundle(b) => {
                    let m = &b.sigstore_bundle;
                    is_base64(&m.bundle)
                        && m.bundle.len() <= 65_536
                        && is_base64(&m.manifest)
                        && m.manifest.len() <= 65_536
                }
            };
            need(ok, "/module/signatures has an entry that does not fit the schema");
        }
    }
    need(!f.inputs.is_empty() && f.inputs.len() <= 32, "/inputs must have 1 to 32 items");
    for i in &f.inputs {
        need(!i.topic.is_empty() && i.topic.chars().count() <= 1024, "/inputs topic must have 1 to 1024 characters");
        need(i.qos <= 1, "/inputs qos must be 0 or 1");
    }
    need(f.outputs.len() <= 32, "/outputs must have at most 32 items");
    for o in &f.outputs {
        need(!o.topic.is_empty() && o.topic.chars().count() <= 1024, "/outputs topic must have 1 to 1024 characters");
        need(o.qos <= 1, "/outputs qos must be 0 or 1");
    }
    let l = &f.limits;
    need(
        (65_536..=4 * 1024 * 1024 * 1024).contains(&l.memory_bytes),
        "/limits/memoryBytes must be from 65536 to 4 GiB",
    );
    need((1..=60_000).contains(&l.timeout_ms), "/limits/timeoutMs must be from 1 to 60000");
    if let Some(m) = l.max_module_bytes {
        need(m >= 8, "/limits/maxModuleBytes must be >= 8");
    }
    if let Some(p) = l.max_payload_bytes {
        need((1..=1024 * 1024).contains(&p), "/limits/maxPayloadBytes must be from 1 to 1048576");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(extra: &str) -> String {
        format!(
            r#"{{"version":1,"node":"pump-7","generation":3,"functions":[{{"namespace":"plant-1","name":"temp-alert","revision":"r1",
            "module":{{"sha256":"{}","size":100}},"inputs":[{{"topic":"sensors/{{node}}/t","qos":1,"format":"senml"}}],
            "outputs":[{{"topic":"out/{{node}}","qos":0,"retain":false}}],"config":{{"A":"1"}},
            "limits":{{"memoryBytes":1048576,"timeoutMs":50{extra}}}}}]}}"#,
            "a".repeat(64)
        )
    }

    #[test]
    fn a_valid_document_parses() {
        let d = parse_desired_state(doc("").as_bytes()).unwrap();
        assert_eq!(d.functions[0].limits.timeout_ms, 50);
        assert_eq!(function_key(&d.functions[0]), "plant-1/temp-alert");
    }

    #[test]
    fn unknown_fields_and_out_of_range_limits_are_refused() {
        assert!(parse_desired_state(doc(r#","surprise":1"#).as_bytes()).is_err());
        let e = parse_desired_state(doc("").replace("\"timeoutMs\":50", "\"timeoutMs\":0").as_bytes()).unwrap_err();
        assert!(e[0].contains("/functions/0/limits/timeoutMs"), "{e:?}");
    }

    #[test]
    fn names_that_would_leave_the_data_directory_are_refused() {
        let e = parse_desired_state(doc("").replace("temp-alert", "../../etc").as_bytes()).unwrap_err();
        assert!(e[0].contains("/functions/0/name"), "{e:?}");
    }
}
