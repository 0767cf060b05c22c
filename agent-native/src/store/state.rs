// SPDX-License-Identifier: Apache-2.0
// Per-device, per-function key-value state (the guest's state_get/state_set) in memory, persisted
// to one JSON file per function ({key: base64}), atomically and at most every 200 ms, so it
// survives restarts of the function and the agent without a disk write per call. The file is
// named by a hash of `<namespace>/<name>`: a name from the desired document never becomes a path.
use super::atomic::{read_if_exists, write_atomic};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub const DEFAULT_STATE_QUOTA: usize = 64 * 1024;

pub struct FileState {
    file: PathBuf,
    quota: usize,
    values: BTreeMap<String, Vec<u8>>,
    used: usize,
    pub dirty: bool,
}

pub type SharedState = Arc<Mutex<FileState>>;

/// `<data-dir>/state/<sha256 of "namespace/name">.json`.
pub fn state_file(data_dir: &Path, namespace: &str, name: &str) -> PathBuf {
    data_dir
        .join("state")
        .join(format!("{}.json", super::modules::sha256_hex(format!("{namespace}/{name}").as_bytes())))
}

impl FileState {
    pub fn open(file: PathBuf) -> FileState {
        let mut state = FileState { file, quota: DEFAULT_STATE_QUOTA, values: BTreeMap::new(), used: 0, dirty: false };
        // A damaged state file starts empty rather than keeping the function from running.
        if let Ok(Some(raw)) = read_if_exists(&state.file) {
            if let Ok(entries) = serde_json::from_slice::<BTreeMap<String, String>>(&raw) {
                for (k, v) in entries {
                    if let Ok(bytes) = STANDARD.decode(v) {
                        state.used += k.len() + bytes.len();
                        state.values.insert(k, bytes);
                    }
                }
            }
        }
        state
    }

    pub fn get(&self, key: &str) -> Option<&[u8]> {
        self.values.get(key).map(Vec::as_slice)
    }

    /// False when the quota would be exceeded.
    pub fn set(&mut self, key: &str, value: &[u8]) -> bool {
        let old = self.values.get(key).map_or(0, |v| key.len() + v.len());
        let next = self.used - old + key.len() + value.len();
        if next > self.quota {
            return false;
        }
        self.used = next;
        self.values.insert(key.to_string(), value.to_vec());
        self.dirty = true;
        true
    }

    pub fn flush(&mut self) -> std::io::Result<()> {
        if !self.dirty {
            return Ok(());
        }
        self.dirty = false;
        let map: BTreeMap<&str, String> = self.values.iter().map(|(k, v)| (k.as_str(), STANDARD.encode(v))).collect();
        write_atomic(&self.file, serde_json::to_string(&map).unwrap_or_default().as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_survives_a_reopen_and_respects_its_quota() {
        let dir = std::env::temp_dir().join(format!("wf-state-{}", std::process::id()));
        let file = state_file(&dir, "plant-1", "../../x");
        assert!(file.starts_with(dir.join("state")));
        let mut s = FileState::open(file.clone());
        assert!(s.set("k", b"v"));
        assert!(!s.set("big", &vec![0u8; DEFAULT_STATE_QUOTA]));
        s.flush().unwrap();
        assert_eq!(FileState::open(file).get("k"), Some(&b"v"[..]));
        let _ = std::fs::remove_dir_all(dir);
    }
}
