// SPDX-License-Identifier: Apache-2.0
// Checks an input payload against its declared format before any function sees it (guest-abi.md,
// "Payload formats"); the twin of agent/src/io/payload-check.ts. Pure. A malformed input is
// counted and reported, never passed on; a function still receives the original bytes.
use crate::wire::desired::PayloadFormat;
use serde_json::Value;

pub const DEFAULT_MAX_PAYLOAD_BYTES: u64 = 256 * 1024;

pub fn check_payload(payload: &[u8], format: PayloadFormat, max_bytes: u64) -> Result<(), String> {
    if payload.len() as u64 > max_bytes {
        return Err(format!("payload of {} bytes exceeds the {max_bytes}-byte limit", payload.len()));
    }
    if format == PayloadFormat::Raw {
        return Ok(());
    }
    let text = std::str::from_utf8(payload).map_err(|_| "payload is not valid UTF-8".to_string())?;
    // TextDecoder drops a leading byte-order mark before JSON.parse sees the text.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if format == PayloadFormat::Json {
        return serde_json::from_str::<serde::de::IgnoredAny>(text)
            .map(|_| ())
            .map_err(|e| format!("payload is not valid JSON: {e}"));
    }
    let value: Value = serde_json::from_str(text).map_err(|e| format!("payload is not valid JSON: {e}"))?;
    check_senml(&value)
}

/// RFC 8428 JSON: a non-empty array of records; each has a name (own or base) and one value.
pub fn check_senml(value: &Value) -> Result<(), String> {
    let records = match value.as_array() {
        Some(a) if !a.is_empty() => a,
        _ => return Err("SenML must be a non-empty JSON array of records".into()),
    };
    let mut base_name = String::new();
    for (i, record) in records.iter().enumerate() {
        let r = record.as_object().ok_or_else(|| format!("SenML record {i} is not an object"))?;
        if let Some(bn) = r.get("bn") {
            base_name = bn.as_str().ok_or_else(|| format!("SenML record {i}: bn must be a string"))?.to_string();
        }
        let n = match r.get("n") {
            Some(n) => n.as_str().ok_or_else(|| format!("SenML record {i}: n must be a string"))?,
            None => "",
        };
        if base_name.is_empty() && n.is_empty() {
            return Err(format!("SenML record {i} has no name (n or bn)"));
        }
        for numeric in ["t", "ut", "bt", "bv", "bs", "v", "s"] {
            if let Some(v) = r.get(numeric) {
                if !v.is_number() {
                    return Err(format!("SenML record {i}: {numeric} must be a finite number"));
                }
            }
        }
        if r.get("vs").is_some_and(|v| !v.is_string()) {
            return Err(format!("SenML record {i}: vs must be a string"));
        }
        if r.get("vb").is_some_and(|v| !v.is_boolean()) {
            return Err(format!("SenML record {i}: vb must be a boolean"));
        }
        if r.get("vd").is_some_and(|v| !v.is_string()) {
            return Err(format!("SenML record {i}: vd must be a string"));
        }
        let values = ["v", "vs", "vb", "vd"].iter().filter(|f| r.contains_key(**f)).count();
        if values > 1 {
            return Err(format!("SenML record {i} has more than one value field"));
        }
        if values == 0 && !r.contains_key("s") && !r.contains_key("bv") && !r.contains_key("bn") {
            return Err(format!("SenML record {i} has no value (v, vs, vb, vd or s)"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_checked_like_the_node_agent_checks_them() {
        assert!(check_payload(b"\xff", PayloadFormat::Raw, 10).is_ok());
        assert!(check_payload(b"12345678901", PayloadFormat::Raw, 10).is_err());
        assert!(check_payload(b"{\"a\":1}", PayloadFormat::Json, 100).is_ok());
        assert!(check_payload(b"{", PayloadFormat::Json, 100).is_err());
        assert!(check_payload(b"\xff", PayloadFormat::Json, 100).unwrap_err().contains("UTF-8"));
        assert!(check_payload(br#"[{"n":"t","v":21.5}]"#, PayloadFormat::Senml, 100).is_ok());
        assert!(check_payload(br#"[{"v":21.5}]"#, PayloadFormat::Senml, 100).is_err());
        assert!(check_payload(br#"[{"n":"t","v":1,"vs":"x"}]"#, PayloadFormat::Senml, 100).is_err());
        assert!(check_payload(b"[]", PayloadFormat::Senml, 100).is_err());
    }
}
