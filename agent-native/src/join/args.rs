// SPDX-License-Identifier: Apache-2.0
// `wasmfleet-agent-native join <broker> --token <token> [--ca <base64 PEM>] …`: the command
// `wasmfleet nodes join` prints (the package installs this binary as wasmfleet-agent too, so it
// runs as printed). The same arguments and errors as the Node agent's (agent/src/join/join-args.ts).
// Pure: every bad value gets an error that says what to fix.
use crate::config::{ConfigError, broker_address, supported_transport};
use base64::Engine;
use std::path::PathBuf;

pub const JOIN_HELP: &str =
    "wasmfleet-agent-native join — provision this device with the command `wasmfleet nodes join` printed

Usage: wasmfleet-agent join <broker-url> --token <token> [--ca <base64>] [options]

  --token <token>       the single-use bootstrap token (wfjoin.…)
  --ca <base64>         the broker's CA certificate (PEM, base64), for a private CA
  --config-dir <dir>    where agent.env and the credentials go (default /etc/wasmfleet)
  --no-start            write the settings only; do not (re)start the wasmfleet-agent-native service
  --timeout <seconds>   how long to wait for the operator's answer (default 30)
  -h, --help            this help
";

#[derive(Debug, Clone)]
pub struct JoinArgs {
    pub broker: String,
    pub token: String,
    /// PEM of the broker's CA, decoded from --ca.
    pub ca: Option<String>,
    pub config_dir: PathBuf,
    pub start: bool,
    pub timeout_secs: u64,
}

pub enum ParsedJoin {
    Help,
    Join(JoinArgs),
}

const VALUED: &[&str] = &["token", "ca", "config-dir", "timeout"];

fn err<T>(message: impl Into<String>) -> Result<T, ConfigError> {
    Err(ConfigError(message.into()))
}

/// `wfjoin.<16 hex id>.<43 base64url secret>` (api/src/wire/join.ts JOIN_TOKEN_PATTERN).
pub fn is_join_token(token: &str) -> bool {
    let parts: Vec<&str> = token.trim().split('.').collect();
    let secret_char = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'-';
    parts.len() == 3
        && parts[0] == "wfjoin"
        && parts[1].len() == 16
        && parts[1].bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
        && parts[2].len() == 43
        && parts[2].bytes().all(secret_char)
}

pub fn parse_join_args(argv: &[String]) -> Result<ParsedJoin, ConfigError> {
    let mut values: std::collections::HashMap<&str, String> = std::collections::HashMap::new();
    let mut positionals = Vec::new();
    let mut start = true;
    let mut i = 0;
    while i < argv.len() {
        let arg = argv[i].as_str();
        i += 1;
        if arg == "-h" || arg == "--help" {
            return Ok(ParsedJoin::Help);
        }
        if arg == "--no-start" {
            start = false;
            continue;
        }
        let Some(body) = arg.strip_prefix("--") else {
            positionals.push(arg.to_string());
            continue;
        };
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (body, None),
        };
        let Some(&name) = VALUED.iter().find(|&&v| v == name) else {
            return err(format!("Unknown option '--{name}'; see wasmfleet-agent join --help"));
        };
        let value = match (inline, argv.get(i)) {
            (Some(v), _) => v,
            (None, Some(v)) if !v.starts_with("--") => {
                i += 1;
                v.clone()
            }
            _ => return err(format!("Option '--{name} <value>' argument missing; see wasmfleet-agent join --help")),
        };
        values.insert(name, value);
    }
    let [broker] = positionals.as_slice() else {
        return err(
            "give the broker URL once, as `wasmfleet nodes join` printed it: wasmfleet-agent join mqtts://host:8883 --token …",
        );
    };
    let address = broker_address(broker).map_err(ConfigError)?;
    supported_transport(&address, broker).map_err(ConfigError)?;
    let Some(token) = values.remove("token") else {
        return err("no --token: copy the whole command `wasmfleet nodes join <node>` printed");
    };
    if !is_join_token(&token) {
        return err(
            "--token is not a join token (wfjoin.<id>.<secret>): copy the whole command `wasmfleet nodes join` printed",
        );
    }
    let timeout = values.remove("timeout").unwrap_or_else(|| "30".into());
    let timeout_secs = match timeout.parse::<u64>() {
        Ok(n) if (1..=600).contains(&n) => n,
        _ => return err(format!("--timeout {timeout}: expected whole seconds from 1 to 600")),
    };
    let ca = match values.remove("ca") {
        None => None,
        Some(b64) => {
            let pem = base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .filter(|pem| pem.contains("-----BEGIN CERTIFICATE-----"));
            match pem {
                Some(pem) => Some(pem),
                None => {
                    return err(
                        "--ca is not a base64 PEM certificate: copy the whole command `wasmfleet nodes join` printed",
                    );
                }
            }
        }
    };
    Ok(ParsedJoin::Join(JoinArgs {
        broker: broker.clone(),
        token: token.trim().to_string(),
        ca,
        config_dir: PathBuf::from(values.remove("config-dir").unwrap_or_else(|| "/etc/wasmfleet".into())),
        start,
        timeout_secs,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "wfjoin.0123456789abcdef.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

    fn parse(a: &[&str]) -> Result<JoinArgs, String> {
        let argv: Vec<String> = a.iter().map(|s| s.to_string()).collect();
        match parse_join_args(&argv) {
            Ok(ParsedJoin::Join(j)) => Ok(j),
            Ok(ParsedJoin::Help) => Err("help".into()),
            Err(e) => Err(e.0),
        }
    }

    #[test]
    fn reads_the_printed_command() {
        let ca = base64::engine::general_purpose::STANDARD.encode("-----BEGIN CERTIFICATE-----\nMIIB\n");
        let j = parse(&["mqtts://b:8883", "--token", TOKEN, "--ca", &ca, "--config-dir=/tmp/x", "--no-start"]).unwrap();
        assert_eq!(
            (j.broker.as_str(), j.token.as_str(), j.start, j.timeout_secs),
            ("mqtts://b:8883", TOKEN, false, 30)
        );
        assert!(j.ca.unwrap().starts_with("-----BEGIN CERTIFICATE-----"));
        assert_eq!(j.config_dir, PathBuf::from("/tmp/x"));
        let j = parse(&["mqtt://b", "--token", TOKEN]).unwrap();
        assert_eq!((j.start, j.config_dir.to_str(), j.ca), (true, Some("/etc/wasmfleet"), None));
    }

    #[test]
    fn says_what_to_fix() {
        assert!(parse(&["--token", TOKEN]).unwrap_err().contains("give the broker URL once"));
        assert!(parse(&["mqtt://b", "mqtt://c", "--token", TOKEN]).unwrap_err().contains("give the broker URL once"));
        assert!(parse(&["mqtt://b"]).unwrap_err().contains("no --token"));
        assert!(parse(&["mqtt://b", "--token", "not-a-token"]).unwrap_err().contains("--token is not a join token"));
        assert!(
            parse(&["mqtt://b", "--token", TOKEN, "--ca", "bm9wZQ=="])
                .unwrap_err()
                .contains("--ca is not a base64 PEM")
        );
        assert!(parse(&["mqtt://b", "--token", TOKEN, "--timeout", "0"]).unwrap_err().contains("from 1 to 600"));
        assert!(parse(&["mqtt://b", "--token", TOKEN, "--bogus"]).unwrap_err().contains("Unknown option '--bogus'"));
        assert!(parse(&["mqtt://b", "--token"]).unwrap_err().contains("argument missing"));
        assert!(parse(&["http://b", "--token", TOKEN]).unwrap_err().contains("mqtt://"));
        assert_eq!(parse(&["-h"]).unwrap_err(), "help");
    }

    #[cfg(not(feature = "websocket"))]
    #[test]
    fn refuses_a_websocket_broker_naming_the_node_agent() {
        let e = parse(&["ws://b/mqtt", "--token", TOKEN]).unwrap_err();
        assert!(e.contains("no WebSocket transport") && e.contains("Node agent"), "{e}");
    }
}
