// SPDX-License-Identifier: Apache-2.0
// The module blob envelope retained on wasmfleet/v1/modules/<sha256> (api/src/wire/module-envelope.ts):
//   "WFM1" | u32 big-endian header length | UTF-8 JSON header | raw module bytes
// Decoding does not verify the digest: the module store does, before anything is kept or compiled.
use serde::Deserialize;

const MAX_HEADER: usize = 4096;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Header {
    sha256: String,
    size: u64,
    media_type: String,
}

/// The module bytes inside an envelope (a view into `payload`).
pub fn decode_module_envelope(payload: &[u8]) -> Result<&[u8], String> {
    if payload.len() < 8 || &payload[..4] != b"WFM1" {
        return Err("not a module envelope (missing the WFM1 magic)".into());
    }
    let header_len = u32::from_be_bytes([payload[4], payload[5], payload[6], payload[7]]) as usize;
    if header_len > MAX_HEADER || 8 + header_len > payload.len() {
        return Err(format!("module envelope header length {header_len} is invalid"));
    }
    let header: Header = serde_json::from_slice(&payload[8..8 + header_len])
        .map_err(|e| format!("module envelope header is invalid: {e}"))?;
    let hex =
        header.sha256.len() == 64 && header.sha256.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c));
    if !hex || header.media_type != "application/wasm" {
        return Err("module envelope header is invalid: sha256 or mediaType".into());
    }
    let bytes = &payload[8 + header_len..];
    if bytes.len() as u64 != header.size {
        return Err(format!("module envelope says {} bytes but carries {}", header.size, bytes.len()));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_envelope_round_trips_and_a_short_one_is_refused() {
        let json = format!(r#"{{"sha256":"{}","size":3,"mediaType":"application/wasm"}}"#, "0".repeat(64));
        let mut p = b"WFM1".to_vec();
        p.extend((json.len() as u32).to_be_bytes());
        p.extend(json.as_bytes());
        p.extend([1, 2, 3]);
        assert_eq!(decode_module_envelope(&p).unwrap(), &[1, 2, 3]);
        p.pop();
        assert!(decode_module_envelope(&p).unwrap_err().contains("carries 2"));
        assert!(decode_module_envelope(b"nope").is_err());
    }
}
