// SPDX-License-Identifier: Apache-2.0
// After a granted join: the agent's settings and credentials on disk, as the Node agent writes
// them (agent/src/join/device-join.ts) — agent.env (0600), mqtt-password (0600, owned by the
// `wasmfleet` system user the .deb creates, which the service runs as) and ca.crt — then the
// service enabled and (re)started when systemd has it.
use super::answer::Granted;
use super::args::JoinArgs;
use crate::clock::{iso, now_ms};
use crate::store::atomic::write_atomic;
use std::fs;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub const SERVICE: &str = "wasmfleet-agent-native.service";
/// The system user the package's unit runs the agent as; the password file belongs to it.
const AGENT_USER: &str = "wasmfleet";

/// Writes agent.env, mqtt-password and ca.crt into the config directory; returns what it wrote.
pub fn write_agent_settings(args: &JoinArgs, joined: &Granted) -> Result<Vec<PathBuf>, String> {
    let dir = &args.config_dir;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o750)
        .create(dir)
        .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let owner = system_user(AGENT_USER);
    let mut written = Vec::new();
    let mut put = |name: &str, text: &str, mode: u32, owned_by_agent: bool| -> Result<PathBuf, String> {
        let file = dir.join(name);
        write_atomic(&file, text.as_bytes()).map_err(|e| e.to_string())?;
        fs::set_permissions(&file, fs::Permissions::from_mode(mode))
            .map_err(|e| format!("cannot set the mode of {}: {e}", file.display()))?;
        if let (true, Some((uid, gid))) = (owned_by_agent, owner) {
            std::os::unix::fs::chown(&file, Some(uid), Some(gid))
                .map_err(|e| format!("cannot give {} to the user {AGENT_USER}: {e}", file.display()))?;
        }
        written.push(file.clone());
        Ok(file)
    };
    let password = match &joined.password {
        Some(p) => Some(put("mqtt-password", p.as_str(), 0o600, true)?),
        None => None,
    };
    let ca = match joined.ca.as_ref().or(args.ca.as_ref()) {
        Some(pem) => Some(put("ca.crt", pem.as_str(), 0o644, false)?),
        None => None,
    };
    let mut env = vec![
        format!(
            "# Written by `wasmfleet-agent-native join` at {}; see wasmfleet-agent-native --help for more settings.",
            iso(now_ms())
        ),
        format!("WASMFLEET_NODE={}", joined.node),
        format!("WASMFLEET_BROKER={}", joined.broker.as_deref().unwrap_or(&args.broker)),
    ];
    if let Some(user) = &joined.username {
        env.push(format!("WASMFLEET_MQTT_USERNAME={user}"));
    }
    if let Some(file) = &password {
        env.push(format!("WASMFLEET_MQTT_PASSWORD_FILE={}", file.display()));
    }
    if let Some(file) = &ca {
        env.push(format!("WASMFLEET_MQTT_CA={}", file.display()));
    }
    env.push(String::new());
    put("agent.env", env.join("\n").as_str(), 0o600, false)?;
    Ok(written)
}

/// Enables and (re)starts the service when systemd has it; false when there is none to start.
pub fn start_service() -> Result<bool, String> {
    let unit = Command::new("systemctl").args(["cat", SERVICE]).stdout(Stdio::null()).stderr(Stdio::null()).status();
    if !unit.is_ok_and(|s| s.success()) {
        return Ok(false);
    }
    for step in [["enable", SERVICE], ["restart", SERVICE]] {
        let out = Command::new("systemctl")
            .args(step)
            .output()
            .map_err(|e| format!("cannot run systemctl {}: {e}", step[0]))?;
        if !out.status.success() {
            return Err(format!(
                "systemctl {} {SERVICE} failed: {} (the settings are written; see journalctl -u {SERVICE})",
                step[0],
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
    }
    Ok(true)
}

/// The uid and gid of a user in /etc/passwd, when it exists.
fn system_user(name: &str) -> Option<(u32, u32)> {
    passwd_entry(&fs::read_to_string(Path::new("/etc/passwd")).ok()?, name)
}

fn passwd_entry(passwd: &str, name: &str) -> Option<(u32, u32)> {
    let fields: Vec<&str> = passwd.lines().find(|l| l.starts_with(&format!("{name}:")))?.split(':').collect();
    Some((fields.get(2)?.parse().ok()?, fields.get(3)?.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_agent_user() {
        let passwd =
            "root:x:0:0:root:/root:/bin/sh\nwasmfleet:x:998:997:WasmFleet agent:/var/lib/wasmfleet:/usr/sbin/nologin\n";
        assert_eq!(passwd_entry(passwd, "wasmfleet"), Some((998, 997)));
        assert_eq!(passwd_entry(passwd, "wasm"), None);
    }

    #[test]
    fn writes_the_settings_the_agent_reads() {
        let dir = std::env::temp_dir().join(format!("wasmfleet-join-test-{}", std::process::id()));
        let args = JoinArgs {
            broker: "mqtts://b:8883".into(),
            token: String::new(),
            ca: Some("-----BEGIN CERTIFICATE-----\n".into()),
            config_dir: dir.clone(),
            start: false,
            timeout_secs: 30,
        };
        let joined = Granted {
            ok: true,
            node: "pump-7".into(),
            broker: None,
            username: Some("pump-7".into()),
            password: Some("pw".into()),
            ca: None,
        };
        let written = write_agent_settings(&args, &joined).unwrap();
        assert_eq!(written.len(), 3);
        let env = fs::read_to_string(dir.join("agent.env")).unwrap();
        assert!(
            env.contains("\nWASMFLEET_NODE=pump-7\nWASMFLEET_BROKER=mqtts://b:8883\nWASMFLEET_MQTT_USERNAME=pump-7\n")
        );
        assert!(env.contains(&format!("WASMFLEET_MQTT_PASSWORD_FILE={}", dir.join("mqtt-password").display())));
        let mode = |f: &str| fs::metadata(dir.join(f)).unwrap().permissions().mode() & 0o777;
        assert_eq!((mode("agent.env"), mode("mqtt-password"), mode("ca.crt")), (0o600, 0o600, 0o644));
        fs::remove_dir_all(dir).unwrap();
    }
}
