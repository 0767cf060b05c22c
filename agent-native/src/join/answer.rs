// SPDX-License-Identifier: Apache-2.0
// The operator's answer to a join request, as api/src/wire/join.ts writes it: a SealedJoinResponse
// `{version: 1, nonce, sealed}` whose plaintext is a JoinResult, sealed with AES-256-GCM under
// HKDF-SHA256(token, salt = request id, info "wasmfleet-join-response/v1"). Only the token's
// holder can open it, so another join client reading the response topic learns nothing and
// cannot forge an answer. Pure: bytes in, a granted result or the reason out.
use crate::wire::topics::is_node_id;
use base64::Engine;
use ring::{aead, hkdf};
use serde::Deserialize;

const JOIN_KEY_INFO: &[u8] = b"wasmfleet-join-response/v1";

/// What a granted join carries (absent broker: the one the device joined through).
#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Granted {
    pub ok: bool,
    pub node: String,
    pub broker: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub ca: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Refused {
    #[allow(dead_code)]
    ok: bool,
    reason: String,
    message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Sealed {
    version: u8,
    nonce: String,
    sealed: String,
}

/// Why an answer gives no credentials; the text is what the device prints.
#[derive(Debug, PartialEq)]
pub enum Refusal {
    /// The cluster said no (Forged, Expired, Used, Unavailable) and why.
    Refused(String),
    /// The answer is not one sealed for this token and request, or does not read.
    Unreadable(String),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Refused(m) | Refusal::Unreadable(m) => f.write_str(m),
        }
    }
}

/// The granted credentials in `payload`, or why there are none.
pub fn read_answer(payload: &[u8], token: &str, request_id: &str) -> Result<Granted, Refusal> {
    let unsealed = |why: String| {
        Refusal::Unreadable(format!("the answer to this join request is not one sealed for this token: {why}"))
    };
    let sealed: Sealed = serde_json::from_slice(payload).map_err(|e| unsealed(e.to_string()))?;
    let plain = open(&sealed, token, request_id).map_err(unsealed)?;
    let unreadable = |why: String| Refusal::Unreadable(format!("the answer to this join request does not read: {why}"));
    let value: serde_json::Value = serde_json::from_slice(&plain).map_err(|e| unreadable(e.to_string()))?;
    match value.get("ok") {
        Some(serde_json::Value::Bool(true)) => {
            let granted: Granted = serde_json::from_value(value).map_err(|e| unreadable(e.to_string()))?;
            check_granted(&granted).map_err(unreadable)?;
            Ok(granted)
        }
        Some(serde_json::Value::Bool(false)) => {
            let refused: Refused = serde_json::from_value(value).map_err(|e| unreadable(e.to_string()))?;
            if !["Forged", "Expired", "Used", "Unavailable"].contains(&refused.reason.as_str()) {
                return Err(unreadable(format!("unknown reason {:?}", refused.reason)));
            }
            Err(Refusal::Refused(format!(
                "the cluster refused the token ({}): {}",
                refused.reason,
                refused.message.chars().take(1024).collect::<String>()
            )))
        }
        _ => Err(unreadable("no boolean \"ok\"".into())),
    }
}

/// The bounds of the JoinResult schema: a node id, and fields small enough to write to disk.
fn check_granted(g: &Granted) -> Result<(), String> {
    if !is_node_id(&g.node) {
        return Err(format!("node {:?} is not a device id", g.node));
    }
    let too_long = |field: &Option<String>, max: usize| field.as_ref().is_some_and(|v| v.len() > max);
    if too_long(&g.broker, 2048) || too_long(&g.username, 253) || too_long(&g.password, 256) || too_long(&g.ca, 16_384)
    {
        return Err("a field is longer than the schema allows".into());
    }
    // Written into agent.env one per line: a line break would add a setting.
    if [&g.broker, &g.username].into_iter().flatten().any(|v| v.contains(['\n', '\r'])) {
        return Err("the broker or user name holds a line break".into());
    }
    Ok(())
}

fn open(sealed: &Sealed, token: &str, request_id: &str) -> Result<Vec<u8>, String> {
    if sealed.version != 1 {
        return Err(format!("version {} (this agent reads 1)", sealed.version));
    }
    let b64 = base64::engine::general_purpose::STANDARD;
    let nonce = b64.decode(&sealed.nonce).map_err(|e| format!("nonce: {e}"))?;
    let mut body = b64.decode(&sealed.sealed).map_err(|e| format!("sealed: {e}"))?;
    if body.len() < 17 {
        return Err("the join response is too short to be sealed".into());
    }
    let nonce = aead::Nonce::try_assume_unique_for_key(&nonce).map_err(|_| "the nonce is not 12 bytes".to_string())?;
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, request_id.as_bytes()).extract(token.trim().as_bytes());
    let okm = prk.expand(&[JOIN_KEY_INFO], &aead::AES_256_GCM).map_err(|_| "cannot derive the key".to_string())?;
    let key = aead::LessSafeKey::new(aead::UnboundKey::from(okm));
    let plain = key
        .open_in_place(nonce, aead::Aad::empty(), &mut body)
        .map_err(|_| "Unsupported state or unable to authenticate data".to_string())?;
    Ok(plain.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Sealed by api/src/wire/join.ts sealJoinResult (Node's crypto) for this token and request id.
    const TOKEN: &str = "wfjoin.0123456789abcdef.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    const REQUEST: &str = "00112233445566778899aabbccddeeff";
    const GRANTED: &str = r#"{"version":1,"nonce":"PHhQdoDAszAuWASL","sealed":"ypy3iVhExy8J3G3+utWRdeU1srRQiEFm8RltBQlVAw5bWXsi/TVNhYI2ni+ynexKtx5AhOv9MxKsYIk/ftv0ohlrgXoFlQKEfZAKdlVV2ftP7x6DLnoWyYQPnhitNKWUPqOUzjYxCYjyyZyce/b2yjNv"}"#;
    const USED: &str = r#"{"version":1,"nonce":"1hYyFY8FIONPknbu","sealed":"almEfPLjlChFMwWadau1DlD+cak/+4Hb8KFLqh3ZcjqsyNpcN14VPwqPEHnNSHPaMWlifNc3bjcrOFF7d67LjA6as8w5"}"#;

    #[test]
    fn opens_what_the_operator_sealed() {
        let g = read_answer(GRANTED.as_bytes(), TOKEN, REQUEST).unwrap();
        assert_eq!(g.node, "pump-7");
        assert_eq!((g.username.as_deref(), g.password.as_deref()), (Some("pump-7"), Some("s3cret")));
        assert_eq!(g.broker.as_deref(), Some("mqtts://broker:8883"));
        let refused = read_answer(USED.as_bytes(), TOKEN, REQUEST).unwrap_err();
        assert_eq!(refused, Refusal::Refused("the cluster refused the token (Used): used at noon".into()));
    }

    #[test]
    fn an_answer_for_another_token_or_request_does_not_open() {
        let other = TOKEN.replace("AAAA", "BBBB");
        assert!(
            matches!(read_answer(GRANTED.as_bytes(), &other, REQUEST), Err(Refusal::Unreadable(m)) if m.contains("not one sealed for this token"))
        );
        let other_request = REQUEST.replace("00", "ff");
        assert!(matches!(read_answer(GRANTED.as_bytes(), TOKEN, &other_request), Err(Refusal::Unreadable(_))));
        assert!(matches!(read_answer(b"{}", TOKEN, REQUEST), Err(Refusal::Unreadable(_))));
        assert!(matches!(read_answer(b"not json", TOKEN, REQUEST), Err(Refusal::Unreadable(_))));
    }
}
