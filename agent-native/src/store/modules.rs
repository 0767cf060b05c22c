// SPDX-License-Identifier: Apache-2.0
// The content-addressed module store: blobs/sha256/<hex>, written atomically, verified on every
// read (a flipped bit on the SD card is a cache miss, never an executed module), bounded in
// total size, garbage-collected against the digests the desired state still references
// (agent/src/store/module-store.ts, the same layout, so a data directory reads the same).
use super::atomic::{read_if_exists, write_atomic};
use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct StoreError {
    pub reason: &'static str,
    pub message: String,
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, bytes);
    hex(d.as_ref())
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

fn is_digest(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
}

pub struct ModuleStore {
    dir: PathBuf,
    max_total: u64,
    pub max_blob: u64,
}

impl ModuleStore {
    pub fn new(data_dir: &Path) -> Self {
        ModuleStore {
            dir: data_dir.join("blobs").join("sha256"),
            max_total: 256 * 1024 * 1024,
            max_blob: 32 * 1024 * 1024,
        }
    }

    fn file(&self, digest: &str) -> PathBuf {
        self.dir.join(digest)
    }

    /// Verified bytes, or None when absent or corrupt (a corrupt entry is deleted).
    pub fn get(&self, digest: &str) -> Option<Vec<u8>> {
        if !is_digest(digest) {
            return None;
        }
        let bytes = read_if_exists(&self.file(digest)).ok().flatten()?;
        if sha256_hex(&bytes) != digest {
            let _ = fs::remove_file(self.file(digest));
            return None;
        }
        Some(bytes)
    }

    /// Verifies and stores; `referenced` lets a full store evict what is unused.
    pub fn put(&self, digest: &str, bytes: &[u8], referenced: &HashSet<String>) -> Result<(), StoreError> {
        if bytes.len() as u64 > self.max_blob {
            return Err(StoreError {
                reason: "ModuleTooLarge",
                message: format!(
                    "module {} is {} bytes; the store accepts at most {}",
                    &digest[..12.min(digest.len())],
                    bytes.len(),
                    self.max_blob
                ),
            });
        }
        let actual = sha256_hex(bytes);
        if actual != digest || !is_digest(digest) {
            return Err(StoreError {
                reason: "DigestMismatch",
                message: format!(
                    "module bytes hash to sha256:{actual}, not the expected sha256:{digest}; refusing to store or run them"
                ),
            });
        }
        let mut total = self.total_bytes();
        if total + bytes.len() as u64 > self.max_total {
            let mut keep = referenced.clone();
            keep.insert(digest.to_string());
            self.gc(&keep);
            total = self.total_bytes();
            if total + bytes.len() as u64 > self.max_total {
                return Err(StoreError {
                    reason: "StoreFull",
                    message: format!(
                        "the module store holds {total} bytes in use; adding {} would exceed its {}-byte limit",
                        bytes.len(),
                        self.max_total
                    ),
                });
            }
        }
        write_atomic(&self.file(digest), bytes)
            .map_err(|e| StoreError { reason: "FetchFailed", message: e.to_string() })
    }

    pub fn list(&self) -> Vec<String> {
        fs::read_dir(&self.dir)
            .map(|d| d.filter_map(|e| e.ok()?.file_name().into_string().ok()).filter(|n| is_digest(n)).collect())
            .unwrap_or_default()
    }

    pub fn total_bytes(&self) -> u64 {
        self.list().iter().filter_map(|d| fs::metadata(self.file(d)).ok()).map(|m| m.len()).sum()
    }

    /// Removes every blob not in `keep`, and stray temp files; returns the removed digests.
    pub fn gc(&self, keep: &HashSet<String>) -> Vec<String> {
        let mut removed = Vec::new();
        for digest in self.list() {
            if !keep.contains(&digest) && fs::remove_file(self.file(&digest)).is_ok() {
                removed.push(digest);
            }
        }
        if let Ok(entries) = fs::read_dir(&self.dir) {
            for e in entries.flatten() {
                if e.file_name().to_string_lossy().ends_with(".tmp") {
                    let _ = fs::remove_file(e.path());
                }
            }
        }
        removed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_store_refuses_wrong_bytes_and_drops_corrupt_entries() {
        let dir = std::env::temp_dir().join(format!("wf-store-{}", std::process::id()));
        let store = ModuleStore::new(&dir);
        let bytes = b"\0asm\x01\0\0\0";
        let digest = sha256_hex(bytes);
        assert_eq!(store.put(&digest, b"other", &HashSet::new()).unwrap_err().reason, "DigestMismatch");
        store.put(&digest, bytes, &HashSet::new()).unwrap();
        assert_eq!(store.get(&digest).unwrap(), bytes);
        fs::write(store.file(&digest), b"flipped").unwrap();
        assert!(store.get(&digest).is_none());
        assert!(!store.file(&digest).exists());
        let _ = fs::remove_dir_all(dir);
    }
}
