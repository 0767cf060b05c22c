// SPDX-License-Identifier: Apache-2.0
// The agent's settings from flags, environment and an optional JSON config file, in that order of
// precedence: the same names, defaults and errors as the Node agent (agent/src/cli/config.ts),
// so the operator, the chart's simulated devices and `wasmfleet nodes join` drive either agent.
use crate::node::sensors::{MAX_SENSORS, sensor_name_problem};
use crate::signing::keys::{TrustedKey, load_trusted_keys};
use crate::wire::topics::is_node_id;
use std::collections::HashMap;
use std::path::PathBuf;

pub const HELP: &str = "wasmfleet-agent-native — runs WasmFleet functions on this device (Wasmtime)

Usage: wasmfleet-agent-native --broker <url> --node <id> [options]

  --broker <url>          MQTT broker, mqtt:// or mqtts:// (ws://, wss://    env WASMFLEET_BROKER
                          only in a build with the cargo feature websocket)
  --node <id>             this device's id (lower-case, digits, - and .)     env WASMFLEET_NODE
  --data-dir <dir>        module cache, last desired state, function state  env WASMFLEET_DATA_DIR
                          (default ./.wasmfleet/agent)
  --config <file>         JSON file with any of the settings below (camelCase keys)
  --username <name>       MQTT user name                                     env WASMFLEET_MQTT_USERNAME
  --password-file <file>  file holding the MQTT password                     env WASMFLEET_MQTT_PASSWORD_FILE
                          (or env WASMFLEET_MQTT_PASSWORD; never a flag: it would show in ps)
  --ca <file>             CA certificate to verify the broker (TLS)          env WASMFLEET_MQTT_CA
  --cert <file>           client certificate for mutual TLS                  env WASMFLEET_MQTT_CERT
  --key <file>            client key for mutual TLS                          env WASMFLEET_MQTT_KEY
  --mqtt-version <4|5>    protocol: 5 (default; falls back to 4 = 3.1.1)     env WASMFLEET_MQTT_VERSION
  --heartbeat <seconds>   status heartbeat interval (default 30)             env WASMFLEET_HEARTBEAT
  --sensors <a,b,...>     sensors this device has (others are learned)       env WASMFLEET_SENSORS
  --max-functions <n>     functions this device runs at most (default 64)    env WASMFLEET_MAX_FUNCTIONS
  --trusted-keys <paths>  comma-separated public-key files or directories  env WASMFLEET_TRUSTED_KEYS
                          of <key-id>.pub (PEM: Ed25519, ECDSA P-256, RSA);
                          modules must be signed by one of them
  --unsigned-modules <allow|refuse>                                          env WASMFLEET_UNSIGNED_MODULES
                          run modules no trusted key vouches for? (default:
                          refuse when --trusted-keys is set, allow otherwise;
                          a signature that fails to verify is always refused)
  --output-buffer <n>     outputs held while the broker is out of reach or   env WASMFLEET_OUTPUT_BUFFER
                          slow to acknowledge; beyond it new outputs are
                          dropped and counted in status (default 10000)
  --output-buffer-bytes <n>  the same bound in bytes (default 16777216)    env WASMFLEET_OUTPUT_BUFFER_BYTES
  --isolation <auto|worker>                                                  env WASMFLEET_ISOLATION
                          where calls run: auto (default) runs a function
                          whose deadline is at most 100 ms on the agent's
                          thread (Wasmtime stops it at its deadline) and
                          others on a thread of their own; worker gives every
                          function's calls a thread of their own
  --metrics-address <a>   serve Prometheus /metrics on HOST:PORT (off by     env WASMFLEET_METRICS_ADDRESS
                          default; PORT alone binds 127.0.0.1, 0 = any free port)
  -h, --help              this help
  --version               the agent's version

  wasmfleet-agent-native join …  provision this device with the command \"wasmfleet nodes join\"
                          prints (installed as wasmfleet-agent too, so that command runs as printed)
";

#[derive(Debug)]
pub struct ConfigError(pub String);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isolation {
    Auto,
    Worker,
}

#[derive(Debug, Clone)]
pub struct Broker {
    pub tls: bool,
    /// ws:// or wss://: MQTT over a WebSocket, at `path` on the host.
    pub websocket: bool,
    /// The HTTP path (and query) of a WebSocket endpoint ("/" when the URL names none).
    pub path: String,
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub broker_url: String,
    pub broker: Broker,
    pub node_id: String,
    pub data_dir: PathBuf,
    pub username: Option<String>,
    pub password_file: Option<String>,
    pub password: Option<String>,
    pub ca_file: Option<String>,
    pub cert_file: Option<String>,
    pub key_file: Option<String>,
    pub protocol_version: u8,
    pub heartbeat_seconds: u64,
    pub sensors: Vec<String>,
    pub max_functions: usize,
    pub trusted_keys: Vec<TrustedKey>,
    pub allow_unsigned: bool,
    pub output_buffer: u64,
    pub output_buffer_bytes: u64,
    pub isolation: Isolation,
    pub metrics_address: Option<(String, u16)>,
}

pub enum Parsed {
    Help,
    Version,
    Run(Box<Settings>),
}

const FLAGS: &[&str] = &[
    "broker",
    "node",
    "data-dir",
    "config",
    "username",
    "password-file",
    "ca",
    "cert",
    "key",
    "mqtt-version",
    "heartbeat",
    "sensors",
    "max-functions",
    "trusted-keys",
    "unsigned-modules",
    "isolation",
    "output-buffer",
    "output-buffer-bytes",
    "metrics-address",
];

fn err<T>(message: impl Into<String>) -> Result<T, ConfigError> {
    Err(ConfigError(message.into()))
}

fn parse_flags(argv: &[String]) -> Result<Option<HashMap<String, String>>, ConfigError> {
    let mut flags = HashMap::new();
    let mut i = 0;
    while i < argv.len() {
        let arg = &argv[i];
        if arg == "-h" || arg == "--help" {
            return Ok(None);
        }
        let Some(body) = arg.strip_prefix("--") else {
            return err(format!(
                "Unexpected argument '{arg}'. This command does not take positional arguments; see --help"
            ));
        };
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (body, None),
        };
        if !FLAGS.contains(&name) {
            return err(format!("Unknown option '--{name}'; see --help"));
        }
        let value = match inline {
            Some(v) => v,
            None => {
                i += 1;
                match argv.get(i) {
                    Some(v) if !v.starts_with("--") => v.clone(),
                    _ => return err(format!("Option '--{name} <value>' argument missing; see --help")),
                }
            }
        };
        flags.insert(name.to_string(), value);
        i += 1;
    }
    Ok(Some(flags))
}

/// The broker URL taken apart (mqtt://, mqtts://, ws:// or wss://); the error says how to write it.
pub fn broker_address(url: &str) -> Result<Broker, String> {
    let shown = broker_for_logs(url);
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| format!("broker URL {shown} does not parse; write it as mqtt://host:1883"))?;
    let (tls, websocket) = match scheme {
        "mqtt" => (false, false),
        "mqtts" => (true, false),
        "ws" => (false, true),
        "wss" => (true, true),
        _ => return Err(format!("broker URL {shown}: use an mqtt://, mqtts://, ws:// or wss:// URL")),
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let after = &rest[authority.len()..];
    let after = after.split('#').next().unwrap_or("");
    let path = if after.starts_with('/') { after.to_string() } else { format!("/{after}") };
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let (h, after) = v6
            .split_once(']')
            .ok_or_else(|| format!("broker URL {shown} does not parse; write it as mqtt://host:1883"))?;
        (h.to_string(), after.strip_prefix(':'))
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (hostport.to_string(), None),
        }
    };
    if host.is_empty() {
        return Err(format!("broker URL {shown} names no host; write it as {scheme}://host:port"));
    }
    let port = match port {
        // mqtt.js's defaults: 1883 and 8883, and for WebSockets HTTP's own 80 and 443.
        None | Some("") => match (websocket, tls) {
            (false, false) => 1883,
            (false, true) => 8883,
            (true, false) => 80,
            (true, true) => 443,
        },
        Some(p) => {
            p.parse::<u16>().map_err(|_| format!("broker URL {shown} does not parse; write it as mqtt://host:1883"))?
        }
    };
    let decode = |s: &str| percent_decode(s);
    let (username, password) = match userinfo {
        Some(u) => match u.split_once(':') {
            Some((n, p)) => (Some(decode(n)).filter(|s| !s.is_empty()), Some(decode(p)).filter(|s| !s.is_empty())),
            None => (Some(decode(u)).filter(|s| !s.is_empty()), None),
        },
        None => (None, None),
    };
    Ok(Broker { tls, websocket, path, host: host.to_lowercase(), port, username, password })
}

/// Refuses a ws:// or wss:// broker in a build without the WebSocket transport (the cargo feature
/// `websocket`, off by default: docs/adr/0034), saying what to use instead.
pub fn supported_transport(broker: &Broker, url: &str) -> Result<(), String> {
    if broker.websocket && !cfg!(feature = "websocket") {
        return Err(format!(
            "broker URL {}: this build of the native agent has no WebSocket transport (built without the cargo feature \"websocket\", docs/adr/0034); use the broker's mqtt:// or mqtts:// listener, or the Node agent (wasmfleet-agent), which speaks ws:// and wss://",
            broker_for_logs(url)
        ));
    }
    Ok(())
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() + 0 && i + 2 <= b.len() - 1 {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The broker URL for a log line: a password in it (mqtt://user:secret@host) becomes ***.
pub fn broker_for_logs(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, p)) if !p.is_empty() => format!("{scheme}://{user}:***@{host}{tail}"),
            _ => url.to_string(),
        },
        None => url.to_string(),
    }
}

pub fn parse_config(argv: &[String], env: &HashMap<String, String>) -> Result<Parsed, ConfigError> {
    if argv.iter().any(|a| a == "--version") {
        return Ok(Parsed::Version);
    }
    let Some(flags) = parse_flags(argv)? else { return Ok(Parsed::Help) };
    let config_path = flags.get("config").cloned();
    let mut file: HashMap<String, String> = HashMap::new();
    if let Some(path) = &config_path {
        let raw = std::fs::read(path).map_err(|e| ConfigError(format!("cannot read the config file {path}: {e}")))?;
        let value: serde_json::Value = serde_json::from_slice(&raw)
            .map_err(|e| ConfigError(format!("cannot read the config file {path}: {e}")))?;
        let Some(obj) = value.as_object() else {
            return err(format!("cannot read the config file {path}: expected a JSON object"));
        };
        for (k, v) in obj {
            let text = match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Array(a) => a
                    .iter()
                    .map(|x| x.as_str().map(str::to_string).unwrap_or_else(|| x.to_string()))
                    .collect::<Vec<_>>()
                    .join(","),
                other => other.to_string(),
            };
            file.insert(k.clone(), text);
        }
    }
    let pick = |flag: &str, env_name: &str, key: &str| -> Option<String> {
        flags.get(flag).cloned().or_else(|| env.get(env_name).cloned()).or_else(|| file.get(key).cloned())
    };
    let source = |flag: &str, env_name: &str, key: &str| -> String {
        if flags.contains_key(flag) {
            format!("--{flag}")
        } else if env.contains_key(env_name) {
            env_name.to_string()
        } else {
            format!("\"{key}\" in the config file {}", config_path.clone().unwrap_or_default())
        }
    };
    // A setting naming a credential file is checked now: a missing CA or key is a setup mistake
    // to report at start (exit 2), not a failure on the first connection attempt.
    let credential_file = |flag: &str, env_name: &str, key: &str, what: &str| -> Result<Option<String>, ConfigError> {
        let Some(value) = pick(flag, env_name, key) else { return Ok(None) };
        if let Err(e) = std::fs::read(&value) {
            let why = match e.kind() {
                std::io::ErrorKind::NotFound => "no such file".to_string(),
                std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
                std::io::ErrorKind::IsADirectory => "it is a directory".to_string(),
                _ => e.to_string(),
            };
            return err(format!("{} {value}: cannot read the {what} file ({why})", source(flag, env_name, key)));
        }
        Ok(Some(value))
    };
    let broker_url = pick("broker", "WASMFLEET_BROKER", "broker").filter(|s| !s.is_empty());
    let Some(broker_url) = broker_url else {
        return err("no broker: pass --broker mqtt://host:1883 or set WASMFLEET_BROKER");
    };
    let broker = broker_address(&broker_url).map_err(|e| ConfigError(format!("--broker: {e}")))?;
    supported_transport(&broker, &broker_url).map_err(|e| ConfigError(format!("--broker: {e}")))?;
    let Some(node_id) = pick("node", "WASMFLEET_NODE", "node").filter(|s| !s.is_empty()) else {
        return err("no node id: pass --node <id> or set WASMFLEET_NODE");
    };
    if !is_node_id(&node_id) {
        return err(format!("--node {node_id}: use lower-case letters, digits, '-' and '.' (e.g. pump-7)"));
    }
    let int = |value: Option<String>, what: &str, min: u64, max: u64| -> Result<Option<u64>, ConfigError> {
        let Some(v) = value else { return Ok(None) };
        match v.trim().parse::<u64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(Some(n)),
            _ => err(format!("{what} {v}: expected a whole number from {min} to {max}")),
        }
    };
    let version = int(pick("mqtt-version", "WASMFLEET_MQTT_VERSION", "mqttVersion"), "--mqtt-version", 4, 5)?;
    let heartbeat = int(pick("heartbeat", "WASMFLEET_HEARTBEAT", "heartbeat"), "--heartbeat", 1, 3600)?;
    let max_functions =
        int(pick("max-functions", "WASMFLEET_MAX_FUNCTIONS", "maxFunctions"), "--max-functions", 1, 256)?;
    let output_buffer =
        int(pick("output-buffer", "WASMFLEET_OUTPUT_BUFFER", "outputBuffer"), "--output-buffer", 1, 10_000_000)?;
    let output_buffer_bytes = int(
        pick("output-buffer-bytes", "WASMFLEET_OUTPUT_BUFFER_BYTES", "outputBufferBytes"),
        "--output-buffer-bytes",
        1024,
        9_007_199_254_740_991,
    )?;
    let metrics_address = match pick("metrics-address", "WASMFLEET_METRICS_ADDRESS", "metricsAddress") {
        Some(v) => Some(host_port(&v)?),
        None => None,
    };
    let sensors = match pick("sensors", "WASMFLEET_SENSORS", "sensors") {
        Some(v) if !v.is_empty() => sensor_list(&v)?,
        _ => Vec::new(),
    };
    let password_file =
        credential_file("password-file", "WASMFLEET_MQTT_PASSWORD_FILE", "passwordFile", "MQTT password")?;
    let ca_file = credential_file("ca", "WASMFLEET_MQTT_CA", "ca", "CA certificate")?;
    let cert_file = credential_file("cert", "WASMFLEET_MQTT_CERT", "cert", "client certificate")?;
    let key_file = credential_file("key", "WASMFLEET_MQTT_KEY", "key", "client key")?;
    if cert_file.is_some() != key_file.is_some() {
        return err(
            "mutual TLS needs both a client certificate and its key: pass --cert <file> and --key <file> (or set WASMFLEET_MQTT_CERT and WASMFLEET_MQTT_KEY)",
        );
    }
    let mut trusted_keys = Vec::new();
    if let Some(paths) = pick("trusted-keys", "WASMFLEET_TRUSTED_KEYS", "trustedKeys") {
        let list: Vec<String> = paths.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
        trusted_keys = load_trusted_keys(&list).map_err(|e| ConfigError(format!("--trusted-keys {paths}: {e}")))?;
        if trusted_keys.is_empty() {
            return err(format!(
                "--trusted-keys {paths}: no <key-id>.pub file found; a device that names no key cannot verify any signature"
            ));
        }
    }
    let unsigned = pick("unsigned-modules", "WASMFLEET_UNSIGNED_MODULES", "unsignedModules");
    match unsigned.as_deref() {
        None | Some("allow") | Some("refuse") => {}
        Some(other) => return err(format!("--unsigned-modules {other}: expected allow or refuse")),
    }
    if unsigned.as_deref() == Some("refuse") && trusted_keys.is_empty() {
        return err(
            "--unsigned-modules refuse needs --trusted-keys: with no trusted key every module would be refused",
        );
    }
    let isolation = match pick("isolation", "WASMFLEET_ISOLATION", "isolation").as_deref() {
        None | Some("auto") => Isolation::Auto,
        Some("worker") => Isolation::Worker,
        Some(other) => return err(format!("--isolation {other}: expected auto or worker")),
    };
    let allow_unsigned = match unsigned.as_deref() {
        Some(v) => v == "allow",
        None => trusted_keys.is_empty(),
    };
    Ok(Parsed::Run(Box::new(Settings {
        broker_url,
        broker,
        node_id,
        data_dir: PathBuf::from(
            pick("data-dir", "WASMFLEET_DATA_DIR", "dataDir").unwrap_or_else(|| ".wasmfleet/agent".into()),
        ),
        username: pick("username", "WASMFLEET_MQTT_USERNAME", "username"),
        password_file,
        password: env.get("WASMFLEET_MQTT_PASSWORD").cloned(),
        ca_file,
        cert_file,
        key_file,
        protocol_version: version.unwrap_or(5) as u8,
        heartbeat_seconds: heartbeat.unwrap_or(30),
        sensors,
        max_functions: max_functions.unwrap_or(64) as usize,
        trusted_keys,
        allow_unsigned,
        output_buffer: output_buffer.unwrap_or(10_000),
        output_buffer_bytes: output_buffer_bytes.unwrap_or(16 * 1024 * 1024),
        isolation,
        metrics_address,
    })))
}

/// "9464", "127.0.0.1:9464", "[::1]:9464" or "0.0.0.0:9464"; a bare port binds 127.0.0.1.
fn host_port(value: &str) -> Result<(String, u16), ConfigError> {
    let bad = || {
        ConfigError(format!(
            "--metrics-address {value}: expected HOST:PORT or PORT, e.g. 127.0.0.1:9464 (0 picks a free port)"
        ))
    };
    let v = value.trim();
    let (host, port) = match v.rsplit_once(':') {
        Some((h, p)) => (h.trim_start_matches('[').trim_end_matches(']').to_string(), p),
        None => ("127.0.0.1".to_string(), v),
    };
    if host.is_empty() || !port.bytes().all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    Ok((host, port.parse::<u16>().map_err(|_| bad())?))
}

/// The configured sensor names, refused when the status document could not carry them.
fn sensor_list(value: &str) -> Result<Vec<String>, ConfigError> {
    let names: Vec<String> = value.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
    if names.len() > MAX_SENSORS {
        return err(format!("--sensors: {} sensors; a device reports at most {MAX_SENSORS}", names.len()));
    }
    for name in &names {
        if let Some(problem) = sensor_name_problem(name) {
            return err(format!("--sensors: {problem}"));
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    fn run(a: &[&str]) -> Result<Box<Settings>, String> {
        match parse_config(&args(a), &HashMap::new()) {
            Ok(Parsed::Run(s)) => Ok(s),
            Ok(_) => Err("help".into()),
            Err(e) => Err(e.0),
        }
    }

    #[test]
    fn flags_and_defaults_match_the_node_agent() {
        let s = run(&["--broker", "mqtt://u:p%40ss@Host:1884", "--node=pump-7"]).unwrap();
        assert_eq!((s.broker.host.as_str(), s.broker.port, s.broker.password.as_deref()), ("host", 1884, Some("p@ss")));
        assert_eq!((s.heartbeat_seconds, s.max_functions, s.protocol_version), (30, 64, 5));
        assert!(run(&["--broker", "mqtt://h", "--node", "Pump"]).unwrap_err().contains("lower-case"));
        assert!(run(&["--node", "a"]).unwrap_err().contains("no broker"));
        assert!(run(&["--broker", "mqtt://", "--node", "a"]).unwrap_err().contains("names no host"));
        assert!(
            run(&["--broker", "mqtt://h", "--node", "a", "--heartbeat", "0"]).unwrap_err().contains("from 1 to 3600")
        );
        assert!(run(&["--broker", "mqtt://h", "--node", "a", "--bogus", "1"]).unwrap_err().contains("Unknown option"));
        assert!(run(&["--broker", "mqtt://h", "--node", "a", "--ca", "/nope"]).unwrap_err().contains("no such file"));
        assert_eq!(broker_for_logs("mqtt://u:secret@h:1"), "mqtt://u:***@h:1");
    }

    #[cfg(not(feature = "websocket"))]
    #[test]
    fn a_websocket_broker_is_refused_naming_the_feature_and_the_node_agent() {
        let e = run(&["--broker", "ws://u:secret@h/mqtt", "--node", "a"]).unwrap_err();
        assert!(e.contains("cargo feature \"websocket\"") && e.contains("Node agent") && !e.contains("secret"), "{e}");
        assert!(run(&["--broker", "wss://h", "--node", "a"]).unwrap_err().contains("no WebSocket transport"));
    }

    #[test]
    fn websocket_urls_keep_their_path_and_take_http_ports() {
        let b = broker_address("ws://u:pw@Broker/mqtt?x=1#frag").unwrap();
        assert_eq!(
            (b.websocket, b.tls, b.host.as_str(), b.port, b.path.as_str()),
            (true, false, "broker", 80, "/mqtt?x=1")
        );
        assert_eq!((b.username.as_deref(), b.password.as_deref()), (Some("u"), Some("pw")));
        let b = broker_address("wss://[::1]:8443").unwrap();
        assert_eq!((b.websocket, b.tls, b.host.as_str(), b.port, b.path.as_str()), (true, true, "::1", 8443, "/"));
        assert_eq!(broker_address("wss://h").unwrap().port, 443);
        assert!(!broker_address("mqtts://h").unwrap().websocket);
        let e = broker_address("http://u:secret@h").unwrap_err();
        assert!(e.contains("ws:// or wss://") && !e.contains("secret"), "{e}");
    }
}
